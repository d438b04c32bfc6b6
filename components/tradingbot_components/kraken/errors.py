"""Kraken error strings, parsed into values and sorted into the kinds that drive retry policy.

Pure: the rate governor and the circuit breaker both read `ErrorKind`, so one table decides whether an
error means "back off", "the exchange is unwell", or "the request itself was wrong".
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class KrakenError(enum.StrEnum):
    """Kraken's error texts, exact as sent (`<E|W><Category>:<Message>`); some carry a `:detail` suffix."""

    # Authentication
    INVALID_KEY = "EAPI:Invalid key"
    INVALID_SIGNATURE = "EAPI:Invalid signature"
    INVALID_NONCE = "EAPI:Invalid nonce"
    PERMISSION_DENIED = "EGeneral:Permission denied"
    INVALID_TOKEN = "EAPI:Invalid token"
    INVALID_SESSION = "ESession:Invalid session"
    # Rate limits
    RATE_LIMIT_EXCEEDED = "EAPI:Rate limit exceeded"
    THROTTLED = "EService:Throttled"  # sent as "EService:Throttled: <unix_ts>"
    ORDER_RATE_LIMIT_EXCEEDED = "EOrder:Rate limit exceeded"
    DOMAIN_RATE_LIMIT_EXCEEDED = "EOrder:Domain rate limit exceeded"
    TEMPORARY_LOCKOUT = "EGeneral:Temporary lockout"
    TOO_MANY_REQUESTS = "EGeneral:Too many requests"  # Cloudflare edge (ccxt #27468)
    # Service
    SERVICE_UNAVAILABLE = "EService:Unavailable"
    SERVICE_BUSY = "EService:Busy"
    MARKET_CANCEL_ONLY = "EService:Market in cancel_only mode"
    MARKET_POST_ONLY = "EService:Market in post_only mode"
    MARKET_LIMIT_ONLY = "EService:Market in limit_only mode"
    DEADLINE_ELAPSED = "EService:Deadline elapsed"
    INTERNAL_ERROR = "EGeneral:Internal error"
    # Arguments
    INVALID_ARGUMENTS = "EGeneral:Invalid arguments"
    UNKNOWN_METHOD = "EGeneral:Unknown method"
    UNKNOWN_ASSET_PAIR = "EQuery:Unknown asset pair"
    UNKNOWN_ASSET = "EQuery:Unknown asset"
    BAD_REQUEST = "EAPI:Bad request"
    # Orders
    INSUFFICIENT_FUNDS = "EOrder:Insufficient funds"
    ORDER_MINIMUM_NOT_MET = "EOrder:Order minimum not met"
    COST_MINIMUM_NOT_MET = "EOrder:Cost minimum not met"
    TICK_SIZE_CHECK_FAILED = "EOrder:Tick size check failed"
    INVALID_PRICE = "EOrder:Invalid price"
    ORDERS_LIMIT_EXCEEDED = "EOrder:Orders limit exceeded"
    UNKNOWN_ORDER = "EOrder:Unknown order"
    INVALID_ORDER = "EOrder:Invalid order"
    POST_ONLY_ORDER = "EOrder:Post only order"


class ErrorKind(enum.StrEnum):
    """What an error means for the caller's next move."""

    RATE_LIMITED = "rate_limited"  # REST counter full: wait for decay
    TRADING_RATE_LIMITED = "trading_rate_limited"  # per-pair (or account-wide) trading counter full
    THROTTLED = "throttled"  # too many concurrent requests: retry after the given timestamp
    LOCKOUT = "lockout"  # temporary lockout: stop calling, retrying extends it
    SERVICE = "service"  # exchange unavailable or overloaded: trips the breaker
    UNKNOWN_OUTCOME = "unknown_outcome"  # the request may or may not have happened: reconcile first
    MARKET_RESTRICTED = "market_restricted"  # the market is in cancel/post/limit-only mode
    AUTH = "auth"  # key, signature, permission or token problem
    NONCE = "nonce"  # nonce not above the last accepted one
    INVALID_REQUEST = "invalid_request"  # the request was malformed or named something unknown
    ORDER_REJECTED = "order_rejected"  # a business rejection of a well-formed order or funding call
    WARNING = "warning"  # a `W...` entry: informational
    UNKNOWN = "unknown"


_KIND_BY_CODE: dict[KrakenError, ErrorKind] = {
    KrakenError.INVALID_KEY: ErrorKind.AUTH,
    KrakenError.INVALID_SIGNATURE: ErrorKind.AUTH,
    KrakenError.INVALID_NONCE: ErrorKind.NONCE,
    KrakenError.PERMISSION_DENIED: ErrorKind.AUTH,
    KrakenError.INVALID_TOKEN: ErrorKind.AUTH,
    KrakenError.INVALID_SESSION: ErrorKind.AUTH,
    KrakenError.RATE_LIMIT_EXCEEDED: ErrorKind.RATE_LIMITED,
    KrakenError.TOO_MANY_REQUESTS: ErrorKind.RATE_LIMITED,
    KrakenError.THROTTLED: ErrorKind.THROTTLED,
    KrakenError.ORDER_RATE_LIMIT_EXCEEDED: ErrorKind.TRADING_RATE_LIMITED,
    KrakenError.DOMAIN_RATE_LIMIT_EXCEEDED: ErrorKind.TRADING_RATE_LIMITED,
    KrakenError.TEMPORARY_LOCKOUT: ErrorKind.LOCKOUT,
    KrakenError.SERVICE_UNAVAILABLE: ErrorKind.SERVICE,
    KrakenError.SERVICE_BUSY: ErrorKind.SERVICE,
    # The order arrived after its `deadline` and was refused unexecuted: final, and no sign of an outage.
    KrakenError.DEADLINE_ELAPSED: ErrorKind.ORDER_REJECTED,
    KrakenError.MARKET_CANCEL_ONLY: ErrorKind.MARKET_RESTRICTED,
    KrakenError.MARKET_POST_ONLY: ErrorKind.MARKET_RESTRICTED,
    KrakenError.MARKET_LIMIT_ONLY: ErrorKind.MARKET_RESTRICTED,
    KrakenError.INTERNAL_ERROR: ErrorKind.UNKNOWN_OUTCOME,
    KrakenError.INVALID_ARGUMENTS: ErrorKind.INVALID_REQUEST,
    KrakenError.UNKNOWN_METHOD: ErrorKind.INVALID_REQUEST,
    KrakenError.UNKNOWN_ASSET_PAIR: ErrorKind.INVALID_REQUEST,
    KrakenError.UNKNOWN_ASSET: ErrorKind.INVALID_REQUEST,
    KrakenError.BAD_REQUEST: ErrorKind.INVALID_REQUEST,
}

# Unlisted texts fall back on their category, so a new `EOrder:...` text is still a business rejection.
_KIND_BY_CATEGORY: dict[str, ErrorKind] = {
    "EOrder": ErrorKind.ORDER_REJECTED,
    "EFunding": ErrorKind.ORDER_REJECTED,
    "ETrade": ErrorKind.ORDER_REJECTED,
    "EQuery": ErrorKind.INVALID_REQUEST,
    "EAPI": ErrorKind.INVALID_REQUEST,
    "EGeneral": ErrorKind.INVALID_REQUEST,
    "ESession": ErrorKind.AUTH,
    "EService": ErrorKind.SERVICE,
}

_CODES: dict[str, KrakenError] = {member.value: member for member in KrakenError}

_HINTS: dict[ErrorKind, str] = {
    ErrorKind.RATE_LIMITED: "the REST rate counter is full; wait for it to decay (check the configured tier)",
    ErrorKind.TRADING_RATE_LIMITED: "the per-pair trading counter is full; slow down adds and cancels of "
    "young orders",
    ErrorKind.THROTTLED: "too many concurrent requests; retry after the timestamp Kraken sent",
    ErrorKind.LOCKOUT: "the key is locked out after repeated failures; stop calling for several minutes",
    ErrorKind.SERVICE: "Kraken is unavailable or overloaded; retry later",
    ErrorKind.UNKNOWN_OUTCOME: "the request may have been executed; reconcile open orders before retrying",
    ErrorKind.MARKET_RESTRICTED: "the market is restricted (cancel/post/limit only); adjust or wait",
    ErrorKind.AUTH: "check the API key, secret, key permissions and the WebSocket token",
    ErrorKind.NONCE: "the nonce was not above the last one Kraken accepted for this key: another process "
    "may be using the key, or the persisted nonce high-water mark was lost",
    ErrorKind.INVALID_REQUEST: "the request was rejected as malformed; fix the arguments",
    ErrorKind.ORDER_REJECTED: "the order was rejected; check funds, minimums and price increments",
    ErrorKind.WARNING: "informational warning from Kraken",
    ErrorKind.UNKNOWN: "unrecognised Kraken error",
}


@dataclass(frozen=True, slots=True)
class ParsedError:
    """One entry of Kraken's `error` list, split into its parts."""

    raw: str
    severity: str  # "E" (error) or "W" (warning); "" when the text has no Kraken shape
    category: str  # e.g. "General", "Order"
    message: str  # e.g. "Invalid arguments"
    detail: str  # text after a third ':' (e.g. the field name, or the Throttled timestamp), stripped
    code: KrakenError | None
    kind: ErrorKind

    @property
    def hint(self) -> str:
        return _HINTS[self.kind]

    @property
    def retry_at(self) -> float | None:
        """For `EService:Throttled: <unix_ts>`, the Unix time at which retrying is allowed."""
        if self.code is not KrakenError.THROTTLED:
            return None
        try:
            return float(self.detail)
        except ValueError:
            return None


def parse_error(text: str) -> ParsedError:
    """Split an error string; unknown texts are classified by their category prefix."""
    head, _, rest = text.partition(":")
    message, _, detail = rest.partition(":")
    code = _CODES.get(f"{head}:{message}")
    severity = head[:1] if head[:1] in ("E", "W") else ""
    if code is not None:
        kind = _KIND_BY_CODE.get(code, ErrorKind.ORDER_REJECTED)
    elif severity == "W":
        kind = ErrorKind.WARNING
    else:
        kind = _KIND_BY_CATEGORY.get(head, ErrorKind.UNKNOWN)
    return ParsedError(
        raw=text,
        severity=severity,
        category=head[1:] if severity else "",
        message=message,
        detail=detail.strip(),
        code=code,
        kind=kind,
    )


def classify(text: str) -> ErrorKind:
    return parse_error(text).kind


def parse_errors(errors: Iterable[str]) -> list[ParsedError]:
    return [parse_error(text) for text in errors]


# Kinds that ask the caller to wait rather than count the call against the exchange's health.
BACKOFF_KINDS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.RATE_LIMITED, ErrorKind.TRADING_RATE_LIMITED, ErrorKind.THROTTLED, ErrorKind.LOCKOUT}
)
# Kinds that say the exchange (not the request) is at fault.
EXCHANGE_FAULT_KINDS: frozenset[ErrorKind] = frozenset({ErrorKind.SERVICE, ErrorKind.UNKNOWN_OUTCOME})


def is_backoff(kind: ErrorKind) -> bool:
    return kind in BACKOFF_KINDS


def is_exchange_fault(kind: ErrorKind) -> bool:
    return kind in EXCHANGE_FAULT_KINDS


class KrakenAPIError(Exception):
    """A non-empty `error` list from Kraken, with a hint a person can act on."""

    def __init__(self, method: str, errors: Iterable[str]) -> None:
        self.method = method
        self.errors: tuple[ParsedError, ...] = tuple(parse_errors(errors))
        if not self.errors:
            raise ValueError("KrakenAPIError needs at least one error string")
        first = self.errors[0]
        texts = ", ".join(error.raw for error in self.errors)
        super().__init__(f"Kraken rejected {method}: {texts} ({first.hint})")

    @property
    def kinds(self) -> frozenset[ErrorKind]:
        return frozenset(error.kind for error in self.errors)
