"""`AddOrder` with a `cl_ord_id`, after a delivery whose outcome is unknown: look for the order before
sending it again, and answer with the order that exists. Pure helpers; the dispatcher does the lookups.

Kraken keeps `cl_ord_id` unique among *open* orders only, so resending alone is not enough: an order that
filled at once (market, IOC) no longer blocks its id, and a resend would trade twice. Hence the lookup in
open and then closed orders first; and a resend that Kraken refuses as a duplicate is answered the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tradingbot_components.kraken.errors import parse_error

LOOKUPS = ("OpenOrders", "ClosedOrders")  # cost 1 + 2 REST points, on the failure path only
RECONCILED_HEADER = "X-Gateway-Reconciled"


def client_order_id(method: str, params: Mapping[str, object]) -> str | None:
    """The `cl_ord_id` of a single AddOrder (the only call the gateway reconciles)."""
    value = params.get("cl_ord_id") if method == "AddOrder" else None
    return value if isinstance(value, str) and value else None


def is_duplicate(errors: Iterable[str]) -> bool:
    """Kraken refused an order because one with the same client id is open (`EOrder:Duplicate order`;
    matched loosely, as Kraken documents no exact text)."""
    return any(
        parsed.category == "Order" and "duplicate" in parsed.raw.lower()
        for parsed in map(parse_error, errors)
    )


def find_order(result: object, cl_ord_id: str) -> tuple[str, Mapping[str, Any]] | None:
    """`(txid, order)` with that client id in an OpenOrders or ClosedOrders result."""
    if not isinstance(result, Mapping):
        return None
    for section in ("open", "closed"):
        orders = result.get(section)
        if not isinstance(orders, Mapping):
            continue
        for txid, order in orders.items():
            if isinstance(order, Mapping) and order.get("cl_ord_id") == cl_ord_id:
                return str(txid), order
    return None


def add_order_result(txid: str, order: Mapping[str, Any]) -> dict[str, Any]:
    """The AddOrder envelope Kraken would have sent for `order`."""
    descr = order.get("descr")
    text = descr.get("order") if isinstance(descr, Mapping) else None
    return {"error": [], "result": {"descr": {"order": text or ""}, "txid": [txid]}}
