"""balance-manager readiness against the simulator: not ready (and no balances served) until the first REST
reconcile; not ready once the balances outgrow the bound with the WS feed down and REST failing; ready again
when either comes back. Bad settings stop it at start with the variable named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.components.balance_manager.harness import Rig, not_ready, ready
from tests.integration.components.process import ComponentRunner
from tests.support.waiting import wait_until

FAST = {
    "TRADINGBOT_BALANCE_MANAGER_RECONCILE_INTERVAL": "1",
    "TRADINGBOT_BALANCE_MANAGER_MAX_AGE": "3",
    "TRADINGBOT_BALANCE_MANAGER_CONFIRM_DELAY": "0.5",
}


def _reasons(reply: object) -> str:
    assert isinstance(reply, dict)
    return "; ".join(str(r["message"]) for r in reply["reasons"])


def test_not_ready_until_the_first_reconcile(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(
        before=lambda stack: stack.sim.fault("unavailable", scope="private"), wait=False, env=FAST
    )
    # Two failed BalanceEx reads, and still nothing is served as if it were known.
    wait_until(
        lambda: rig.section()["reconcile"]["failures_in_a_row"] >= 2, timeout=30, what="failed reconciles"
    )
    reply = not_ready(rig.manager)
    assert reply is not None
    assert "balances not reconciled with REST BalanceEx yet" in _reasons(reply.body)
    served = rig.manager.get("/balances")
    assert served.status == 503
    assert "not reconciled" in served.json["error"]

    rig.sim.clear_faults()
    wait_until(lambda: ready(rig.manager), timeout=30, what="readiness after the first reconcile")
    rig.wait_matches_exchange()


def test_stale_balances_make_it_unready_until_rest_or_the_feed_returns(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(relay=True, env=FAST)
    rig.wait_matches_exchange()
    assert rig.relay is not None
    wait_until(lambda: rig.section()["feed"]["synced"], timeout=20, what="the feed to sync")

    rig.sim.fault("unavailable", scope="private")
    rig.relay.block()
    reply = wait_until(lambda: not_ready(rig.manager), timeout=20, what="readiness to drop")
    reasons = _reasons(reply.body)
    assert "balances are" in reasons and "bound 3s" in reasons and "the WS feed is down" in reasons
    assert rig.manager.get("/balances").status == 200  # still served, with its reconciled_at
    age = rig.metric("tradingbot_balance_manager_balance_age_seconds")
    assert age is not None and age > 3
    assert rig.health("balances-feed")["status"] == "degraded"

    rig.sim.clear_faults()  # REST alone makes the balances fresh again...
    wait_until(lambda: ready(rig.manager), timeout=30, what="readiness from a REST reconcile")
    rig.relay.block(False)  # ...and the feed comes back in its own time
    wait_until(lambda: rig.section()["feed"]["synced"], timeout=60, what="the feed to resync")
    rig.wait_matches_exchange()


def test_bad_settings_stop_it_at_start_naming_the_variable(
    components: ComponentRunner, tmp_path: Path
) -> None:
    config = tmp_path / "balance-manager.json"
    config.write_text("{}")
    process = components.start(
        "balance-manager",
        "--config",
        str(config),
        env={
            "TRADINGBOT_BALANCE_MANAGER_RECONCILE_INTERVAL": "60",
            "TRADINGBOT_BALANCE_MANAGER_MAX_AGE": "30",
        },
    )
    assert process.wait_exit(timeout=30) == 1
    assert "TRADINGBOT_BALANCE_MANAGER_MAX_AGE: must be longer than" in process.log_text()
