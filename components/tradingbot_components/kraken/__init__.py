"""Kraken protocol library: pure, network-free pieces shared by the gateway, market data and the simulator.

Modules by concern: `signing` (API-Sign), `nonce` (single-writer nonces), `book` (WS v2 L2 book and
checksum), `limits` + `rate_limit` (Kraken's counters and the client-side governor), `breaker` (circuit
breaker), `errors` (error strings and what they mean), `metrics` (Prometheus exposition).
"""

from tradingbot_components.kraken.book import (
    BookMessage,
    BookRecording,
    ChecksumMismatch,
    OrderBook,
    PriceLevel,
    load_recording,
)
from tradingbot_components.kraken.breaker import BreakerSettings, BreakerState, CallVerdict, CircuitBreaker
from tradingbot_components.kraken.errors import ErrorKind, KrakenAPIError, KrakenError, parse_error
from tradingbot_components.kraken.limits import CounterLimits, DecayingCounter, Tier, cost_of
from tradingbot_components.kraken.nonce import NonceSequencer, NonceUnit
from tradingbot_components.kraken.rate_limit import RateGovernor
from tradingbot_components.kraken.signing import BodyFormat, sign, sign_request, verify

__all__ = [
    "BodyFormat",
    "BookMessage",
    "BookRecording",
    "BreakerSettings",
    "BreakerState",
    "CallVerdict",
    "ChecksumMismatch",
    "CircuitBreaker",
    "CounterLimits",
    "DecayingCounter",
    "ErrorKind",
    "KrakenAPIError",
    "KrakenError",
    "NonceSequencer",
    "NonceUnit",
    "OrderBook",
    "PriceLevel",
    "RateGovernor",
    "Tier",
    "cost_of",
    "load_recording",
    "parse_error",
    "sign",
    "sign_request",
    "verify",
]
