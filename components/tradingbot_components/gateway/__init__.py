"""The gateway component: every Kraken REST call of the bot goes through here, rate-governed, behind a
Kraken-aware circuit breaker, signed by auth, and resent only where a resend cannot act twice.

Pure decisions: `calls` (what a call is), `retry` (whether to resend), `reconcile` (finding a client-id
order), `answers` (what the caller gets), `settings` (config and readiness).
Effects: `kraken.transport` (HTTP to Kraken, shared with auth), `auth_client`, `dispatcher` (the call loop),
`probing` (the half-open probe, the circuit's recovery handler), `api` (HTTP), `wiring` (the container's
registrations), `component`.
"""

from tradingbot_components.gateway.answers import GatewayAnswer
from tradingbot_components.gateway.calls import CallKind, call_kind, retry_safe
from tradingbot_components.gateway.dispatcher import Dispatcher
from tradingbot_components.gateway.retry import (
    Delivery,
    RetryDecision,
    RetrySettings,
    decide_retry,
    delivery_of,
)
from tradingbot_components.kraken.transport import ExchangeReply, KrakenTransport, TransportFailure

__all__ = [
    "CallKind",
    "Delivery",
    "Dispatcher",
    "ExchangeReply",
    "GatewayAnswer",
    "KrakenTransport",
    "RetryDecision",
    "RetrySettings",
    "TransportFailure",
    "call_kind",
    "decide_retry",
    "delivery_of",
    "retry_safe",
]
