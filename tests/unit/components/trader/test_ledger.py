"""The trader's order ledger: forward-only statuses, executions overtaking answers, fills seen once."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.kraken.executions import parse_execution
from tradingbot_components.storage.models import OrderStatus, Side
from tradingbot_components.strategy.api import OrderView
from tradingbot_components.trader.ledger import OrderLedger, advance


def order(cl_ord_id: str = "c1", status: OrderStatus = OrderStatus.PENDING) -> OrderView:
    return OrderView(cl_ord_id, "BTC/USD", Side.BUY, D("0.002"), D("50000"), status, D(0), None, "entry", 1.0)


def execution(exec_type: str, status: str, cum: str = "0", **extra: object) -> dict[str, object]:
    return {
        "exec_type": exec_type,
        "order_id": "OABC-1",
        "symbol": "BTC/USD",
        "side": "buy",
        "order_type": "limit",
        "order_qty": D("0.002"),
        "cum_qty": D(cum),
        "cum_cost": D("0"),
        "avg_price": D("50000"),
        "limit_price": D("50000"),
        "order_status": status,
        "cl_ord_id": "c1",
        "timestamp": "2026-11-28T23:00:00.000Z",
        **extra,
    }


def test_statuses_only_move_forward() -> None:
    filled = advance(order(), OrderStatus.FILLED)
    assert filled.status is OrderStatus.FILLED
    assert advance(filled, OrderStatus.NEW).status is OrderStatus.FILLED
    assert advance(filled, OrderStatus.CANCELED).status is OrderStatus.FILLED


def test_an_execution_that_overtakes_the_addorder_answer_is_not_undone_by_it() -> None:
    ledger = OrderLedger()
    ledger.put(order())
    fill = execution(
        "trade", "filled", cum="0.002", exec_id="T1", last_qty=D("0.002"), last_price=D("49999.9")
    )
    changed, own = ledger.apply(parse_execution(fill))
    assert (
        changed is not None and changed.status is OrderStatus.FILLED and changed.exchange_order_id == "OABC-1"
    )
    assert own is not None and own.quantity == D("0.002") and own.price == D("49999.9")
    assert ledger.update("c1", OrderStatus.NEW, exchange_order_id="OABC-1") is None  # the late answer
    assert ledger.get("c1").status is OrderStatus.FILLED  # type: ignore[union-attr]


def test_a_fill_is_reported_once_however_often_it_is_replayed() -> None:
    ledger = OrderLedger()
    ledger.put(order())
    entry = execution(
        "trade", "partially_filled", cum="0.001", exec_id="T1", last_qty=D("0.001"), last_price=D("1")
    )
    assert ledger.apply(parse_execution(entry))[1] is not None
    assert ledger.apply(parse_execution(entry))[1] is None


def test_the_fill_that_completes_an_order_marks_it_filled_even_when_kraken_says_partially() -> None:
    ledger = OrderLedger()
    ledger.put(order())
    entry = execution(
        "trade", "partially_filled", cum="0.002", exec_id="T9", last_qty=D("0.002"), last_price=D("1")
    )
    changed, _ = ledger.apply(parse_execution(entry))
    assert changed is not None and changed.status is OrderStatus.FILLED


def test_executions_of_other_orders_are_ignored() -> None:
    ledger = OrderLedger()
    ledger.put(order())
    assert ledger.apply(parse_execution({**execution("new", "new"), "cl_ord_id": "someone-else"})) == (
        None,
        None,
    )


def test_finished_orders_beyond_the_limit_are_forgotten_oldest_first() -> None:
    ledger = OrderLedger(keep_finished=2)
    for i in range(4):
        ledger.put(order(f"c{i}", OrderStatus.FILLED))
    ledger.put(order("open"))
    assert [o.cl_ord_id for o in ledger.all()] == ["c2", "c3", "open"]
