"""Whether to send a call again after an attempt, from what the attempt told us. Pure.

Every private resend is signed afresh (a new nonce): a repeated body would carry a nonce Kraken may already
have accepted. What is resent depends on what is known about the first delivery:

- not sent at all (no connection), or refused before acting (`EAPI:Invalid nonce`): resend any call;
- may have acted (timeout, broken connection, HTTP 5xx, `EService:*`, `EGeneral:Internal error`), or
  refused for rate (`EAPI:Rate limit exceeded`, `EService:Throttled`): resend only retry-safe calls;
- lockout, business and argument errors (`EOrder:*`, `EGeneral:Invalid arguments`, ...): return as is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tradingbot_components.gateway.calls import CallKind, retry_safe
from tradingbot_components.kraken.errors import ErrorKind, parse_error
from tradingbot_components.kraken.transport import ExchangeReply, TransportFailure
from tradingbot_components.runtime.backoff import backoff_delay


class Delivery(enum.StrEnum):
    """What one attempt says about the request's fate."""

    OK = "ok"  # answered without errors
    NOT_SENT = "not_sent"  # never left this process
    REFUSED_NONCE = "refused_nonce"  # refused before acting: stale nonce
    RATE_LIMITED = "rate_limited"  # refused before acting: a rate counter or concurrency limit
    LOCKED_OUT = "locked_out"  # refused, and retrying extends the lockout
    UNCERTAIN = "uncertain"  # may or may not have acted
    ANSWERED = "answered"  # a definite answer with errors (business, arguments, auth): final


def delivery_of(reply: ExchangeReply) -> Delivery:
    """Classify one attempt's reply."""
    if reply.failure is TransportFailure.CONNECT:
        return Delivery.NOT_SENT
    if reply.http_status == 429:
        return Delivery.RATE_LIMITED
    if reply.envelope is None or (reply.http_status is not None and reply.http_status >= 500):
        return Delivery.UNCERTAIN
    kinds = {parse_error(error).kind for error in reply.errors}
    kinds.discard(ErrorKind.WARNING)
    if not kinds:
        return Delivery.OK
    if ErrorKind.LOCKOUT in kinds:
        return Delivery.LOCKED_OUT
    if ErrorKind.NONCE in kinds:
        return Delivery.REFUSED_NONCE
    if kinds & {ErrorKind.RATE_LIMITED, ErrorKind.TRADING_RATE_LIMITED, ErrorKind.THROTTLED}:
        return Delivery.RATE_LIMITED
    if kinds & {ErrorKind.SERVICE, ErrorKind.UNKNOWN_OUTCOME}:
        return Delivery.UNCERTAIN
    return Delivery.ANSWERED


@dataclass(frozen=True, slots=True)
class RetrySettings:
    max_attempts: int = 3
    backoff_base: float = 0.25  # seconds after the first transient failure, doubling
    backoff_max: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""  # why (for logs and the retries metric)


_ANY_CALL = frozenset({Delivery.NOT_SENT, Delivery.REFUSED_NONCE})
_SAFE_CALLS_ONLY = frozenset({Delivery.UNCERTAIN, Delivery.RATE_LIMITED})


def decide_retry(kind: CallKind, delivery: Delivery, attempt: int, settings: RetrySettings) -> RetryDecision:
    """Send again after attempt number `attempt` (1-based)?"""
    if delivery in (Delivery.OK, Delivery.ANSWERED, Delivery.LOCKED_OUT):
        return RetryDecision(False, reason=str(delivery))
    if attempt >= settings.max_attempts:
        return RetryDecision(False, reason="attempts exhausted")
    if delivery in _SAFE_CALLS_ONLY and not retry_safe(kind):
        return RetryDecision(False, reason=f"{delivery}: a {kind} call is not resent")
    if delivery is Delivery.REFUSED_NONCE:
        return RetryDecision(True, 0.0, str(delivery))  # a fresh signature is all it takes
    if delivery is Delivery.RATE_LIMITED:
        return RetryDecision(True, 0.0, str(delivery))  # the governor, now told, does the waiting
    assert delivery in _ANY_CALL | _SAFE_CALLS_ONLY
    delay = backoff_delay(attempt, base=settings.backoff_base, cap=settings.backoff_max)
    return RetryDecision(True, delay, str(delivery))
