"""Drift, end to end: the `balances` updates of an order lost between the simulator and balance-manager (a
relay drops them and renumbers the sequence, so no gap shows) are found by the next REST reconcile, read
again, then counted, logged, alerted and repaired from REST, without a restart.

Every update of the order is lost, however many fills it took: each update carries the balance after its
change, so one that got through would repair the ledger and leave no drift to find (a market order sweeps
more than one simulated level when the best one is smaller than the order)."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.components.balance_manager.harness import Rig
from tests.support.waiting import wait_until

RECONCILING = {
    "TRADINGBOT_BALANCE_MANAGER_RECONCILE_INTERVAL": "4",
    "TRADINGBOT_BALANCE_MANAGER_MAX_AGE": "30",
    "TRADINGBOT_BALANCE_MANAGER_CONFIRM_DELAY": "0.5",
}


def test_an_orders_lost_balances_updates_are_reported_as_drift_and_repaired(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(relay=True, env=RECONCILING)
    assert rig.relay is not None
    rig.wait_matches_exchange()
    wait_until(lambda: rig.section()["feed"]["synced"], timeout=20, what="the feed to sync")
    assert rig.health("balance-drift")["status"] == "healthy"

    rig.relay.lose_balances_updates()
    txid = rig.place({"type": "buy", "ordertype": "market", "volume": "0.01"})
    trades = set(rig.trades_of(txid))
    assert trades, "the market order did not fill"
    wait_until(lambda: trades <= rig.relay.lost_refs, timeout=20, what="every update of the order to be lost")
    rig.relay.lose_balances_updates(False)

    try:
        drift = wait_until(
            lambda: rig.section()["drift"]["last"], timeout=60, what="the drift to be confirmed and reported"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{rig.manager.log_text()[-6000:]}") from None
    assert rig.relay.lost_refs == trades and rig.section()["drift"]["events"] == 1
    assert {(d["asset"], d["figure"]) for d in drift} == {("XXBT", "total"), ("ZUSD", "total")}
    xbt = next(d for d in drift if d["asset"] == "XXBT")
    assert (xbt["ours"], xbt["difference"]) == ("10.0000000000", "0.0100000000")

    alerts = rig.manager.get("/healthz").json["health"]["alerts"]
    alerted = [a for a in alerts if a["component"] == "balance-drift" and a["severity"] == "warning"]
    assert (
        len(alerted) == 1
        and "XXBT total ours 10.0000000000 vs exchange 10.0100000000" in alerted[0]["message"]
    )
    assert rig.metric("tradingbot_balance_manager_drift_detected_total", asset="XXBT", figure="total") == 1
    assert rig.metric("tradingbot_balance_manager_reconciles_total", result="drift") == 1
    suspects = rig.metric("tradingbot_balance_manager_reconciles_total", result="suspect")
    assert suspects is not None and suspects >= 1  # read again before it counted
    warnings = [
        e for e in rig.manager.logs() if e.get("level") == "WARNING" and "balance drift" in e["message"]
    ]
    assert len(warnings) == 1

    # Repaired from REST, still running, and the next clean comparison clears the alert.
    rig.wait_matches_exchange()
    wait_until(
        lambda: rig.health("balance-drift")["status"] == "healthy", timeout=20, what="the drift to clear"
    )
    assert rig.manager.process.poll() is None
