"""WS v2 `executions` frames to the fills portfolio stores: trades only, ids and times as the exchange
gave them, snapshots in execution order, unreadable entries reported instead of breaking the feed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from tests.unit.components.portfolio.fakes import execution, frame
from tradingbot_components.portfolio.fills import fill_of, fills_of
from tradingbot_components.storage.models import Side


def test_a_trade_is_a_fill_with_the_exchange_s_ids_amounts_and_time() -> None:
    fill = fill_of(execution("TZX2WP-XSEOP-FP7WYR", side="sell", qty="0.00500000", price="50000.1"))
    assert fill is not None
    assert fill.fill_id == "TZX2WP-XSEOP-FP7WYR"
    assert (fill.pair, fill.side, fill.volume, fill.price) == ("BTC/USD", Side.SELL, D("0.005"), D("50000.1"))
    assert (fill.fee, fill.fee_currency) == (D("1.30003"), "USD")
    assert (fill.client_order_id, fill.exchange_order_id) == ("entry-1", "OQCLML-BW3P3-BUCMWZ")
    assert fill.executed_at == dt.datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def test_order_state_changes_are_not_fills() -> None:
    for exec_type in ("pending_new", "new", "filled", "canceled"):
        assert fill_of(execution(None, exec_type=exec_type)) is None


def test_pairs_are_spelled_as_ws_v2_and_odd_client_ids_are_left_out() -> None:
    fill = fill_of(execution("T1", symbol="XBT/USD", cl_ord_id="my order #1"))
    assert fill is not None
    assert fill.pair == "BTC/USD"
    assert fill.client_order_id is None  # storage would refuse the fill for it; it is only informational


def test_a_snapshot_is_put_in_execution_order() -> None:
    later = execution("T2", timestamp="2026-05-01T12:00:02Z")
    earlier = execution("T1", timestamp="2026-05-01T12:00:01.5Z")
    found = fills_of(frame(later, execution(None, exec_type="new"), earlier, kind="snapshot"))
    assert found.snapshot
    assert [f.fill_id for f in found.fills] == ["T1", "T2"]


def test_an_update_keeps_the_order_it_came_in() -> None:
    found = fills_of(frame(execution("T2", timestamp="2026-05-01T12:00:02Z"), execution("T1")))
    assert [f.fill_id for f in found.fills] == ["T2", "T1"] and not found.snapshot


def test_unreadable_entries_are_reported_and_the_rest_kept() -> None:
    broken = execution("T9")
    del broken["last_price"]
    found = fills_of(frame(execution("T1"), broken, {"exec_type": "trade"}, "junk", execution("T2", side="")))
    assert [f.fill_id for f in found.fills] == ["T1"]
    assert len(found.unreadable) == 4
    assert "last_price" in found.unreadable[0]


def test_a_malformed_entry_that_is_no_fill_is_not_reported() -> None:
    assert fills_of(frame({"exec_type": "status"}, {"exec_type": "new"})).unreadable == []


def test_a_timestamp_given_as_seconds_is_accepted() -> None:
    entry = execution("T1")
    entry["timestamp"] = 1777636800
    fill = fill_of(entry)
    assert fill is not None and fill.executed_at == dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
