"""Recovery policy: restart within budget with backoff, report what the kubelet handles, safe mode, manual."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.operator.world import T0, World
from tradingbot_operator.api.status import ComponentState, ComponentStatus, Health
from tradingbot_operator.planner.health import Assessment
from tradingbot_operator.planner.observed import ObservedPod
from tradingbot_operator.planner.recovery import KUBELET_GRACE, kubelets_turn, plan_recovery


def world(spec: dict | None = None) -> World:
    w = World.for_spec(spec)
    w.settle()
    return w


def healthy(w: World) -> dict[str, Assessment]:
    return {p.name: Assessment(Health.HEALTHY, "Healthy") for p in w.plans}


def rows(**overrides: dict) -> dict[str, ComponentStatus]:
    result = {}
    for name, fields in overrides.items():
        result[name] = ComponentStatus(name=name, phase="Network", state=ComponentState.READY, **fields)
    return result


def recover(
    w: World,
    health: dict[str, Assessment],
    previous=None,
    *,
    complete=True,
    request=None,
    now=T0,
    safe_mode=True,
):
    return plan_recovery(
        w.plans,
        health,
        w.observed(),
        previous or {},
        startup_complete=complete,
        safe_mode=safe_mode,
        restart_request=request,
        ready_generation={name: d.generation for name, d in w.deployments.items()},
        now=now,
    )


def test_not_ready_component_is_restarted_and_recorded() -> None:
    w = world()
    health = healthy(w) | {"gateway": Assessment(Health.UNHEALTHY, "NotReady", "0/1 pods ready")}
    decision = recover(w, health)
    assert decision.restarts == {"gateway"}
    assert decision.recent_restarts["gateway"] == ["2026-11-25T12:00:00Z"]
    assert decision.last_recovery["gateway"].action == "Restart"
    assert [e.reason for e in decision.events] == ["RecoveryRestart", "RecoveryScale"]  # + trader safe mode


def test_nothing_happens_during_startup() -> None:
    w = world()
    health = healthy(w) | {"gateway": Assessment(Health.UNHEALTHY, "NotReady")}
    decision = recover(w, health, complete=False)
    assert decision.restarts == frozenset() and decision.held == frozenset()


def test_kubelet_handled_failures_are_not_fought() -> None:
    w = world()
    for reason in ("CrashLoopBackOff", "OOMKilled", "ProgressDeadlineExceeded"):
        health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, reason)}
        assert recover(w, health).restarts == frozenset(), reason


def failed_pod(**state: object) -> ObservedPod:
    """The gateway's pod, seen Ready before and NotReady now, with its container in `state`."""
    return ObservedPod("gateway-0", "gateway", ready=False, terminating=False, was_ready=True, **state)


def test_a_container_that_exited_is_left_to_the_kubelet_until_its_grace_has_passed() -> None:
    w = world()
    health = healthy(w) | {"gateway": Assessment(Health.UNHEALTHY, "NotReady", "0/1 pods ready")}
    exited = failed_pod(container_running=False, last_terminated_reason="Completed")
    w.pods["gateway"] = (exited,)
    decision = recover(w, health)
    assert decision.restarts == frozenset() and decision.requeue_after == KUBELET_GRACE
    assert not any(e.reason == "RecoveryRestart" for e in decision.events)

    # Started again by the kubelet 20 s ago, not Ready yet: its turn still, asked again when the grace ends.
    again = failed_pod(restarts=1, restarted_since_ready=True, running_since=T0.timestamp() - 20)
    w.pods["gateway"] = (again,)
    decision = recover(w, health)
    assert decision.restarts == frozenset() and decision.requeue_after == KUBELET_GRACE - 20

    # Past the grace and still NotReady: running but stuck, which the operator restarts.
    later = T0 + timedelta(seconds=KUBELET_GRACE)
    assert recover(w, health, now=later).restarts == {"gateway"}


def test_a_running_container_that_turned_not_ready_is_restarted_at_once() -> None:
    w = world()
    health = healthy(w) | {"gateway": Assessment(Health.UNHEALTHY, "NotReady", "0/1 pods ready")}
    w.pods["gateway"] = (failed_pod(running_since=T0.timestamp() - 5),)  # no restart: hung, not exited
    assert recover(w, health).restarts == {"gateway"}
    assert kubelets_turn(w.pods["gateway"], T0) is None


def test_backoff_doubles_between_restarts() -> None:
    w = world({"recovery": {"backoffSeconds": 10, "maxRestarts": 5}})
    health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, "NotReady")}
    first = "2026-11-25T12:00:00Z"
    previous = rows(portfolio={"recent_restarts": [first]})
    assert recover(w, health, previous, now=T0 + timedelta(seconds=5)).restarts == frozenset()
    assert recover(w, health, previous, now=T0 + timedelta(seconds=5)).requeue_after == 5
    assert recover(w, health, previous, now=T0 + timedelta(seconds=10)).restarts == {"portfolio"}
    previous = rows(portfolio={"recent_restarts": [first, "2026-11-25T12:00:10Z"]})
    assert recover(w, health, previous, now=T0 + timedelta(seconds=25)).restarts == frozenset()
    assert recover(w, health, previous, now=T0 + timedelta(seconds=30)).restarts == {"portfolio"}


def test_budget_exhaustion_stops_and_alerts_once() -> None:
    w = world({"recovery": {"maxRestarts": 2, "windowSeconds": 600, "backoffSeconds": 0}})
    health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, "NotReady")}
    previous = rows(portfolio={"recent_restarts": ["2026-11-25T11:59:00Z", "2026-11-25T11:59:30Z"]})
    decision = recover(w, health, previous)
    assert decision.restarts == frozenset() and decision.exhausted == ("portfolio",)
    assert [(e.reason, e.severity) for e in decision.events] == [("RecoveryBudgetExhausted", "critical")]
    again = recover(
        w,
        health,
        rows(
            portfolio={
                "recent_restarts": previous["portfolio"].recent_restarts,
                "last_recovery": decision.last_recovery["portfolio"],
            }
        ),
    )
    assert again.events == () and again.exhausted == ("portfolio",)


def test_budget_window_slides() -> None:
    w = world({"recovery": {"maxRestarts": 1, "windowSeconds": 60, "backoffSeconds": 0}})
    health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, "NotReady")}
    previous = rows(portfolio={"recent_restarts": ["2026-11-25T11:58:00Z"]})  # two minutes ago
    assert recover(w, health, previous).restarts == {"portfolio"}


def test_disabled_recovery_only_observes() -> None:
    w = world({"recovery": {"enabled": False}})
    health = healthy(w) | {"gateway": Assessment(Health.UNHEALTHY, "NotReady")}
    decision = recover(w, health)
    assert decision.restarts == frozenset() and decision.held == frozenset() and decision.events == ()


def test_per_component_override() -> None:
    w = world({"components": [{"name": "portfolio", "recovery": {"enabled": False}}]})
    health = healthy(w) | {
        "portfolio": Assessment(Health.UNHEALTHY, "NotReady"),
        "balance-manager": Assessment(Health.UNHEALTHY, "NotReady"),
    }
    assert recover(w, health).restarts == {"balance-manager"}


def test_safe_mode_holds_the_trader_and_restores_it() -> None:
    w = world()
    health = healthy(w) | {"market-data": Assessment(Health.UNHEALTHY, "CrashLoopBackOff")}
    held = recover(w, health)
    assert held.held == {"trader"}
    assert held.last_recovery["trader"].action == "Scale"
    assert any(e.reason == "RecoveryScale" and "market-data" in e.message for e in held.events)
    restored = recover(w, healthy(w), rows(trader={"safe_mode": True}))
    assert restored.held == frozenset()
    assert [e.reason for e in restored.events] == ["RecoveryScale"]
    assert recover(w, health, safe_mode=False).held == frozenset()


def test_a_component_held_by_safe_mode_is_not_restarted() -> None:
    """The trader is NotReady because the gateway is down: it is scaled to 0, not restarted."""
    w = world({"recovery": {"backoffSeconds": 0}})
    health = healthy(w) | {
        "gateway": Assessment(Health.UNHEALTHY, "NotReady", "0/1 pods ready"),
        "trader": Assessment(Health.UNHEALTHY, "NotReady", "0/1 pods ready"),
    }
    decision = recover(w, health)
    assert decision.held == {"trader"}
    assert decision.restarts == {"gateway"}
    assert decision.last_recovery["trader"].action == "Scale"
    assert not any(e.component == "trader" and e.severity == "critical" for e in decision.events)
    # Without safe mode nothing holds it, and a NotReady trader is restarted like any component.
    assert "trader" in recover(w, health, safe_mode=False).restarts


def test_manual_request_restarts_regardless_of_budget_and_is_cleared() -> None:
    w = world({"recovery": {"maxRestarts": 0}})
    decision = recover(w, healthy(w), request="gateway")
    assert decision.restarts == {"gateway"} and decision.clear_request
    assert decision.last_recovery["gateway"].reason == "ManualRequest"
    assert recover(w, healthy(w), request="all").restarts == {p.name for p in w.plans}
    unknown = recover(w, healthy(w), request="nope")
    assert unknown.restarts == frozenset() and unknown.clear_request


def test_a_restart_that_never_became_ready_is_not_restarted_again() -> None:
    w = world({"recovery": {"backoffSeconds": 0}})
    w.deployments["portfolio"] = replace(w.deployments["portfolio"], generation=2)  # restarted, never Ready
    health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, "NotReady")}
    decision = plan_recovery(
        w.plans,
        health,
        w.observed(),
        {},
        startup_complete=True,
        safe_mode=False,
        restart_request=None,
        ready_generation={"portfolio": 1},
        now=T0,
    )
    assert decision.restarts == frozenset() and decision.exhausted == ()


def test_stopped_components_are_not_restarted() -> None:
    w = world()
    w.deployments["portfolio"] = replace(w.deployments["portfolio"], replicas=0)
    health = healthy(w) | {"portfolio": Assessment(Health.UNHEALTHY, "NotReady")}
    assert recover(w, health).restarts == frozenset()
