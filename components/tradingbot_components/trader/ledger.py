"""The trader's own orders, as it knows them: added before they are sent, moved forward by gateway answers
and `executions`, never backwards (an execution can overtake the AddOrder answer). Pure bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from tradingbot_components.kraken.executions import Execution, OrderState
from tradingbot_components.storage.models import OrderStatus, Side
from tradingbot_components.strategy.api import OrderView

# How far along an order is; a status never moves to a lower rank.
_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELED: 3,
    OrderStatus.EXPIRED: 3,
    OrderStatus.REJECTED: 3,
}

STATUS_OF_STATE = {
    OrderState.PENDING_NEW: OrderStatus.NEW,
    OrderState.NEW: OrderStatus.NEW,
    OrderState.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    OrderState.FILLED: OrderStatus.FILLED,
    OrderState.CANCELED: OrderStatus.CANCELED,
    OrderState.EXPIRED: OrderStatus.EXPIRED,
}

# REST OpenOrders/ClosedOrders `status` → ours.
STATUS_OF_REST = {
    "pending": OrderStatus.NEW,
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class OwnFill:
    """A fill of one of the trader's orders, seen once (deduplicated by execution id)."""

    cl_ord_id: str
    pair: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    exec_id: str


def advance(order: OrderView, status: OrderStatus) -> OrderView:
    """`order` with `status` if that is a step forward (or the same rank with a different final word)."""
    if _RANK[status] < _RANK[order.status] or (order.status.final and status is not order.status):
        return order
    return replace(order, status=status)


class OrderLedger:
    def __init__(self, keep_finished: int = 200) -> None:
        self._orders: dict[str, OrderView] = {}
        self._by_exchange_id: dict[str, str] = {}
        self._seen_fills: set[str] = set()
        self._keep_finished = keep_finished

    def __contains__(self, cl_ord_id: str) -> bool:
        return cl_ord_id in self._orders

    def get(self, cl_ord_id: str) -> OrderView | None:
        return self._orders.get(cl_ord_id)

    def put(self, order: OrderView) -> OrderView:
        self._orders[order.cl_ord_id] = order
        if order.exchange_order_id:
            self._by_exchange_id[order.exchange_order_id] = order.cl_ord_id
        self._forget_old()
        return order

    def update(
        self,
        cl_ord_id: str,
        status: OrderStatus,
        *,
        exchange_order_id: str | None = None,
        filled: Decimal | None = None,
        average_price: Decimal | None = None,
    ) -> OrderView | None:
        """Move an order forward; returns it when anything changed."""
        order = self._orders.get(cl_ord_id)
        if order is None:
            return None
        moved = advance(order, status)
        if exchange_order_id and not moved.exchange_order_id:
            moved = replace(moved, exchange_order_id=exchange_order_id)
        if filled is not None and filled > moved.filled:
            moved = replace(moved, filled=filled, average_price=average_price or moved.average_price)
        if moved == order:
            return None
        return self.put(moved)

    def apply(self, execution: Execution) -> tuple[OrderView | None, OwnFill | None]:
        """An `executions` entry: the order it changed (None when not ours or unchanged) and the new fill."""
        cl_ord_id = execution.cl_ord_id or self._by_exchange_id.get(execution.order_id)
        if cl_ord_id is None or cl_ord_id not in self._orders:
            return None, None
        status = STATUS_OF_STATE.get(execution.order_status, OrderStatus.NEW)
        order = self._orders[cl_ord_id]
        fill = None
        if execution.is_fill and execution.exec_id not in self._seen_fills:
            assert execution.exec_id is not None and execution.last_qty is not None
            self._seen_fills.add(execution.exec_id)
            fill = OwnFill(
                cl_ord_id,
                order.pair,
                order.side,
                execution.last_qty,
                execution.last_price or order.price,
                execution.fee,
                execution.exec_id,
            )
            if execution.remaining is not None and execution.remaining <= 0:
                status = OrderStatus.FILLED  # Kraken may say partially_filled on the fill that completes it
        changed = self.update(
            cl_ord_id,
            status,
            exchange_order_id=execution.order_id,
            filled=execution.cum_qty,
            average_price=execution.avg_price,
        )
        return changed, fill

    def mark_fills_seen(self, exec_ids: Iterable[str]) -> None:
        self._seen_fills.update(exec_ids)

    def open(self) -> list[OrderView]:
        return [order for order in self._orders.values() if order.open]

    def by_pair(self) -> dict[str, list[OrderView]]:
        grouped: dict[str, list[OrderView]] = {}
        for order in self._orders.values():
            grouped.setdefault(order.pair, []).append(order)
        return grouped

    def all(self) -> list[OrderView]:
        return list(self._orders.values())

    def _forget_old(self) -> None:
        finished = [o for o in self._orders.values() if not o.open]
        for order in finished[: max(0, len(finished) - self._keep_finished)]:
            del self._orders[order.cl_ord_id]
            if order.exchange_order_id:
                self._by_exchange_id.pop(order.exchange_order_id, None)
