"""Health and recovery on the real API server; failures are injected through the pod status subresource."""

from __future__ import annotations

import urllib.request

from tests.support.bots import Bots, DeploymentRecorder, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.pods import component_pods, crash_loop, exited, oom_killed, set_ready
from tests.support.waiting import wait_until

RESTARTED = "tradingbot.dev/restartedAt"


def row(status: dict, component: str) -> dict:
    return next(c for c in status["components"] if c["name"] == component)


def condition(status: dict, type_: str) -> dict:
    return next(c for c in status["conditions"] if c["type"] == type_)


def start(bots: Bots, name: str, **spec: object) -> None:
    bots.create(bot_manifest(name, **spec))
    bots.wait_ready(name)


def fail(bots: Bots, bot: str, component: str) -> str:
    """Make a Ready pod of the component NotReady (after a restart, the old pod may still be around)."""

    def ready_pod() -> str | None:
        pods = component_pods(bots.core, bots.namespace, bot, component)
        ready = [
            p
            for p in pods
            if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        return ready[0].metadata.name if ready else None

    pod = wait_until(ready_pod, timeout=20, what=f"a Ready {component} pod")
    set_ready(bots.core, bots.namespace, pod, False)
    return pod


def restarted_at(bots: Bots, component: str) -> str | None:
    annotations = bots.deployments()[component].spec.template.metadata.annotations or {}
    return annotations.get(RESTARTED)


def test_not_ready_is_unhealthy_with_dependents_degraded_and_alerted(
    operator: OperatorProcess, bots: Bots
) -> None:
    start(bots, "watched", recovery={"enabled": False})
    fail(bots, "watched", "auth")
    status = bots.wait_for(
        "watched", lambda s: row(s, "auth")["health"] == "Unhealthy", timeout=10, what="auth Unhealthy"
    )
    assert row(status, "auth")["reason"] == "NotReady"
    for dependent in ("gateway", "balance-manager", "trader"):
        assert row(status, dependent)["health"] == "Degraded"
        assert row(status, dependent)["rootCause"] == "auth"
    assert status["health"] == "Unhealthy"
    degraded = condition(status, "Degraded")
    assert degraded["status"] == "True" and "auth: NotReady" in degraded["message"]
    assert status["alerts"][0]["component"] in {"auth", "gateway", "balance-manager", "portfolio", "trader"}
    assert any(
        a["reason"] == "ComponentUnhealthy" and a["component"] == "auth" and a["severity"] == "critical"
        for a in status["alerts"]
    )
    events = {(e.reason, e.type) for e in bots.core.list_namespaced_event(bots.namespace).items}
    assert ("ComponentUnhealthy", "Warning") in events
    # recovery disabled: observed and reported only
    assert restarted_at(bots, "auth") is None
    assert bots.deployments()["trader"].spec.replicas == 1
    metrics = (
        urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5).read().decode()
    )
    assert (
        'tradingbot_component_health{bot="watched",component="auth",health="Unhealthy",namespace=' in metrics
    )


def test_restart_action_rolls_a_new_replicaset_and_the_bot_heals(
    operator: OperatorProcess, bots: Bots
) -> None:
    start(bots, "healer", recovery={"enabled": True, "safeMode": False})
    replica_sets = {rs.metadata.name for rs in bots.apps.list_namespaced_replica_set(bots.namespace).items}
    fail(bots, "healer", "portfolio")
    wait_until(lambda: restarted_at(bots, "portfolio"), timeout=10, what="restart annotation on portfolio")
    new = wait_until(
        lambda: (
            {
                rs.metadata.name
                for rs in bots.apps.list_namespaced_replica_set(bots.namespace).items
                if rs.metadata.labels.get("app.kubernetes.io/component") == "portfolio"
            }
            - replica_sets
        ),
        timeout=20,
        what="a new portfolio ReplicaSet",
    )
    assert len(new) == 1
    status = bots.wait_for(
        "healer",
        lambda s: s["health"] == "Healthy" and row(s, "portfolio")["lastRecovery"]["action"] == "Restart",
        timeout=30,
        what="healed",
    )
    assert row(status, "portfolio")["recentRestarts"]
    assert condition(status, "Ready")["status"] == "True"
    events = {e.reason for e in bots.core.list_namespaced_event(bots.namespace).items}
    assert "RecoveryRestart" in events


def test_budget_exhaustion_stops_restarting_and_says_so(operator: OperatorProcess, bots: Bots) -> None:
    start(
        bots,
        "tired",
        recovery={"maxRestarts": 1, "windowSeconds": 600, "backoffSeconds": 0, "safeMode": False},
    )
    fail(bots, "tired", "portfolio")
    first = wait_until(lambda: restarted_at(bots, "portfolio"), timeout=10, what="first restart")
    bots.wait_for(
        "tired", lambda s: row(s, "portfolio")["health"] == "Healthy", timeout=30, what="healed once"
    )
    fail(bots, "tired", "portfolio")
    status = bots.wait_for(
        "tired",
        lambda s: condition(s, "Degraded")["reason"] == "RecoveryBudgetExhausted",
        timeout=15,
        what="budget exhausted",
    )
    assert "portfolio" in condition(status, "Degraded")["message"]
    assert row(status, "portfolio")["lastRecovery"]["action"] == "BudgetExhausted"
    assert any(
        a["reason"] == "RecoveryBudgetExhausted" and a["severity"] == "critical" for a in status["alerts"]
    )
    assert restarted_at(bots, "portfolio") == first, "no second restart once the budget is spent"


def critical_alerts(status: dict, component: str) -> list[dict]:
    return [a for a in status["alerts"] if a["component"] == component and a["severity"] == "critical"]


def test_trader_is_scaled_to_zero_while_a_critical_dependency_is_down(
    operator: OperatorProcess, bots: Bots
) -> None:
    """Safe mode is a planned action: the held trader is Degraded (root cause gateway), never critical."""
    start(bots, "careful", components=[{"name": "gateway", "recovery": {"enabled": False}}])
    with DeploymentRecorder(bots) as recorder:
        pod = fail(bots, "careful", "gateway")
        status = bots.wait_for(
            "careful", lambda s: row(s, "trader")["safeMode"], timeout=10, what="safe mode"
        )
        assert bots.deployments()["trader"].spec.replicas == 0
        trader = row(status, "trader")
        assert trader["lastRecovery"]["action"] == "Scale"
        assert trader["health"] == "Degraded" and trader["reason"] == "SafeMode"
        assert "safe mode" in trader["message"] and trader["rootCause"] == "gateway"
        assert critical_alerts(status, "trader") == []
        assert critical_alerts(status, "gateway"), status["alerts"]
        set_ready(bots.core, bots.namespace, pod, True)
        status = bots.wait_for(
            "careful",
            lambda s: (
                not row(s, "trader").get("safeMode")
                and s["health"] == "Healthy"
                and row(s, "trader")["state"] == "Ready"
            ),
            timeout=20,
            what="trader restored",
        )
    trader = [(t, r) for t, c, r in recorder.events if c == "trader"]
    assert ("MODIFIED", 0) in trader and trader[-1] == ("MODIFIED", 1)
    assert "restored" in row(status, "trader")["lastRecovery"]["reason"]
    assert critical_alerts(status, "trader") == [], "coming back from safe mode is not a failure"


def test_crash_loop_and_oom_are_classified_and_left_to_the_kubelet(
    operator: OperatorProcess, bots: Bots
) -> None:
    start(bots, "crashy", components=[{"name": "portfolio", "replicas": 1}, {"name": "balance-manager"}])
    portfolio = component_pods(bots.core, bots.namespace, "crashy", "portfolio")[0]
    balance = component_pods(bots.core, bots.namespace, "crashy", "balance-manager")[0]
    crash_loop(bots.core, bots.namespace, portfolio)
    oom_killed(bots.core, bots.namespace, balance)
    status = bots.wait_for(
        "crashy",
        lambda s: (
            row(s, "portfolio")["reason"] == "CrashLoopBackOff"
            and row(s, "balance-manager")["reason"] == "OOMKilled"
        ),
        timeout=10,
        what="classified",
    )
    assert row(status, "portfolio")["health"] == "Unhealthy"
    assert row(status, "portfolio")["restarts"] == 5
    assert restarted_at(bots, "portfolio") is None and restarted_at(bots, "balance-manager") is None


def test_manual_restart_annotation_is_carried_out_and_cleared(operator: OperatorProcess, bots: Bots) -> None:
    start(bots, "manual")
    bots.patch("manual", {"metadata": {"annotations": {"tradingbot.dev/restart": "gateway"}}})
    wait_until(lambda: restarted_at(bots, "gateway"), timeout=10, what="gateway restarted")
    wait_until(
        lambda: "tradingbot.dev/restart" not in (bots.get("manual")["metadata"].get("annotations") or {}),
        timeout=10,
        what="annotation cleared",
    )
    assert restarted_at(bots, "auth") is None
    status = bots.wait_for(
        "manual",
        lambda s: row(s, "gateway").get("lastRecovery", {}).get("reason") == "ManualRequest",
        timeout=10,
    )
    assert row(status, "gateway")["lastRecovery"]["reason"] == "ManualRequest"
    healed = bots.wait_for(
        "manual",
        lambda s: s.get("health") == "Healthy" and row(s, "gateway").get("health") == "Healthy",
        timeout=30,
        what="the bot healthy again after the manual restart",
    )
    assert row(healed, "auth").get("lastRecovery") is None  # only the named component was restarted


def test_a_container_that_exited_is_left_to_the_kubelet_and_said_so(
    operator: OperatorProcess, bots: Bots
) -> None:
    """A pod seen Ready whose container exited is the kubelet's to restart in place: Unhealthy, with why, and no
    restart of the operator's racing it (the real-node test checks the kubelet's restart itself)."""
    start(bots, "exits", components=[{"name": "portfolio", "replicas": 1}])
    portfolio = component_pods(bots.core, bots.namespace, "exits", "portfolio")[0]
    exited(bots.core, bots.namespace, portfolio)
    status = bots.wait_for(
        "exits",
        lambda s: row(s, "portfolio")["health"] == "Unhealthy",
        timeout=10,
        what="portfolio Unhealthy",
    )
    assert row(status, "portfolio")["reason"] == "NotReady"
    assert "its container exited (Error); the kubelet restarts it" in row(status, "portfolio")["message"]
    # The reconcile that reported it Unhealthy is the one that restarts a running pod turned NotReady (its
    # status would carry the restart, as in the test above); here it left the pod alone.
    assert row(status, "portfolio").get("lastRecovery") is None
    assert restarted_at(bots, "portfolio") is None
