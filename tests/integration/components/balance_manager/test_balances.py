"""balance-manager against the simulator, as real processes: GET /balances equals the exchange's BalanceEx
after start, after an order rests (held/available) and fills (totals through the WS feed), and after the
WebSocket is dropped; snapshots reach storage; SIGTERM stops it cleanly."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from tests.integration.components.balance_manager.harness import Rig
from tests.integration.components.process import request
from tests.support.waiting import wait_until


def test_after_start_the_balances_are_balance_ex_and_stored(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    served = rig.wait_matches_exchange()
    assert set(served["balances"]) == {"XXBT", "XETH", "ZUSD"}
    assert served["balances"]["ZUSD"] == {
        "total": "100000.0000",
        "available": "100000.0000",
        "held": "0.0000",
    }
    assert served["source"] in ("rest", "ws")
    assert time.time() - served["reconciled_at"] < 30

    section = wait_until(
        lambda: (s := rig.section())["feed"] and s["feed"]["synced"] and s,
        timeout=20,
        what="the feed to sync",
    )
    assert section["reconcile"]["last"]["compared"] in (True, False)

    stored = wait_until(
        lambda: (r := request(rig.stack.storage.url("/v1/balances/latest"))).status == 200 and r.json,
        timeout=10,
        what="a balance snapshot in storage",
    )
    assert {a: Decimal(v) for a, v in stored["balances"].items()} == {
        a: Decimal(b["balance"]) for a, b in rig.balance_ex().items()
    }

    assert rig.manager.terminate(timeout=20) == 0
    assert "stopped: " in rig.manager.log_text()


def _below_market(rig: Rig, offset: str) -> Decimal:
    bid = Decimal(rig.sim.market()["XBT/USD"]["bid"])
    return (bid - Decimal(offset)).quantize(Decimal("0.1"))


def test_a_resting_order_holds_and_its_fill_moves_the_totals_through_the_ws_feed(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory()
    rig.wait_matches_exchange()
    wait_until(lambda: rig.section()["feed"]["synced"], timeout=20, what="the feed to sync")
    reads = rig.section()["reconcile"]["reads"]

    price = _below_market(rig, "3000")
    rig.place({"type": "buy", "ordertype": "limit", "price": str(price), "volume": "0.01"})
    served = rig.wait_matches_exchange(what="the order's hold in GET /balances")
    usd = served["balances"]["ZUSD"]
    assert Decimal(usd["held"]) == (Decimal("0.01") * price * Decimal("1.004")).quantize(Decimal("0.0001"))
    assert Decimal(usd["available"]) == Decimal(usd["total"]) - Decimal(usd["held"])
    assert served["source"] == "ws"

    rig.sim.move_market("XBT/USD", str(price - 50))
    filled = wait_until(
        lambda: (b := rig.matches_exchange()) and Decimal(b["balances"]["XXBT"]["total"]) > 10 and b,
        timeout=20,
        what="the fill in GET /balances",
    )
    assert Decimal(filled["balances"]["XXBT"]["total"]) == Decimal("10.01")
    assert Decimal(filled["balances"]["ZUSD"]["held"]) == 0
    assert filled["source"] == "ws"
    section = rig.section()
    assert section["reconcile"]["reads"] == reads, (
        "a REST read happened: the change did not come from the feed"
    )
    assert section["open_orders"] == 0 and section["unsettled_fills"] == 0


def test_a_dropped_websocket_reconnects_resyncs_and_reconciles(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    rig.wait_matches_exchange()
    before = wait_until(lambda: (s := rig.section())["feed"]["synced"] and s, timeout=20, what="the feed")

    rig.sim.fault("drop_ws")
    # While the feed is reconnecting, an order rests: only the fresh snapshots and the reconcile show it.
    rig.place(
        {"type": "buy", "ordertype": "limit", "price": str(_below_market(rig, "2000")), "volume": "0.02"}
    )
    after = wait_until(
        lambda: (
            (s := rig.section())["feed"]["synced"]
            and s["feed"]["connects"] > before["feed"]["connects"]
            and s["reconcile"]["reads"] > before["reconcile"]["reads"]
            and s
        ),
        timeout=30,
        what="a reconnect and a reconcile after it",
    )
    assert after["reconcile"]["last"]["result"] in ("ok", "suspect", "drift")
    served = rig.wait_matches_exchange()
    assert Decimal(served["balances"]["ZUSD"]["held"]) > 0
    assert rig.metric("tradingbot_balance_manager_drift_detected_total", asset="ZUSD", figure="total") is None
