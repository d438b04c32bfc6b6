"""What kind of call a request is, decided from its method and params alone: the facts the retry policy,
the rate governor and the body encoding need. Pure.

Retrying is safe when a second delivery cannot do anything the first did not: reads, `AddOrder` with a
`cl_ord_id` (looked up by that id before it is resent, see `reconcile`), `validate=true` orders (nothing
is placed) and re-arming `CancelAllOrdersAfter`. Everything else that is private is treated as mutating,
including methods this table does not know.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from tradingbot_components.kraken.limits import TRADING_METHODS
from tradingbot_components.kraken.signing import BodyFormat


class CallKind(enum.StrEnum):
    PUBLIC = "public"
    READ = "read"  # private, changes nothing
    IDEMPOTENT = "idempotent"  # changes something, but a repeat changes nothing more
    MUTATING = "mutating"  # a repeat could act twice: never resent once it may have arrived


READ_ONLY_PRIVATE: frozenset[str] = frozenset(
    {
        "Balance",
        "BalanceEx",
        "TradeBalance",
        "OpenOrders",
        "ClosedOrders",
        "QueryOrders",
        "OrderAmends",
        "TradesHistory",
        "QueryTrades",
        "OpenPositions",
        "Ledgers",
        "QueryLedgers",
        "TradeVolume",
        "RetrieveExport",
        "ExportStatus",
        "GetWebSocketsToken",
        "DepositMethods",
        "DepositAddresses",
        "DepositStatus",
        "WithdrawMethods",
        "WithdrawAddresses",
        "WithdrawInfo",
        "WithdrawStatus",
    }
)
# Kraken reads these with a JSON body (nested order lists do not fit a form).
JSON_METHODS: frozenset[str] = frozenset({"AddOrderBatch", "CancelOrderBatch"})
ANY_PAIR = "*"  # trading-counter bucket for a call whose pair is unknown (e.g. CancelOrder by txid)


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _has_client_id(params: Mapping[str, object]) -> bool:
    value = params.get("cl_ord_id")
    return isinstance(value, str) and bool(value)


def call_kind(method: str, params: Mapping[str, object], *, public: bool = False) -> CallKind:
    """The retry class of one call."""
    if public:
        return CallKind.PUBLIC
    if method in READ_ONLY_PRIVATE:
        return CallKind.READ
    if method in ("AddOrder", "AddOrderBatch") and _truthy(params.get("validate")):
        return CallKind.READ
    if method == "AddOrder" and _has_client_id(params):
        return CallKind.IDEMPOTENT  # resent only after looking the order up (see `reconcile`)
    if method == "CancelAllOrdersAfter":
        return CallKind.IDEMPOTENT  # re-arming the timer with the same timeout
    return CallKind.MUTATING


def retry_safe(kind: CallKind) -> bool:
    """Whether a call that may already have reached the exchange may be sent again."""
    return kind is not CallKind.MUTATING


def body_format_for(method: str, params: Mapping[str, object]) -> BodyFormat:
    """JSON for the batch calls and any nested list of objects; Kraken's default form encoding otherwise."""
    if method in JSON_METHODS:
        return BodyFormat.JSON
    nested = any(
        isinstance(value, list) and any(isinstance(item, Mapping) for item in value)
        for value in params.values()
    )
    return BodyFormat.JSON if nested else BodyFormat.FORM


def governed_pair(method: str, params: Mapping[str, object], hint: str | None = None) -> str | None:
    """The pair whose trading counter a call is charged to (None: not a trading call).

    The call's own `pair`, else the caller's hint, else one shared bucket for unknown pairs.
    """
    if method not in TRADING_METHODS:
        return None
    pair = params.get("pair")
    if isinstance(pair, str) and pair:
        return pair
    return hint or ANY_PAIR


def order_count(method: str, params: Mapping[str, object]) -> int:
    """How many orders a batch call carries (1 for single-order calls)."""
    for name in ("orders", "txids", "cl_ord_ids"):
        value = params.get(name)
        if method.endswith("Batch") and isinstance(value, list) and value:
            return len(value)
    return 1
