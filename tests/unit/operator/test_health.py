"""Component health from observed pods and Deployments, cascading to the deepest failing dependency."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.operator.world import World
from tradingbot_operator.api.status import ComponentState, Health
from tradingbot_operator.planner.health import (
    Assessment,
    assess,
    health_events,
    resuming_from_safe_mode,
    worst,
)
from tradingbot_operator.planner.lifecycle import ComponentVerdict
from tradingbot_operator.planner.observed import ObservedPod


def running_world() -> World:
    world = World.for_spec()
    world.settle()
    return world


def evaluate(world: World, previous_restarts: dict[str, int] | None = None):
    decision = world.peek()
    return assess(
        world.plans, world.graph, world.observed(), decision.verdicts, previous_restarts or {}, True
    )


def set_pods(world: World, component: str, **changes: object) -> None:
    """Change the pods, and the Deployment's ready count as its controller would."""
    world.pods[component] = tuple(replace(p, **changes) for p in world.pods[component])
    _sync_deployment(world, component)


def _sync_deployment(world: World, component: str) -> None:
    ready = sum(1 for p in world.pods[component] if p.ready)
    world.deployments[component] = replace(
        world.deployments[component], ready_replicas=ready, available_replicas=ready
    )


def test_a_stale_pod_index_alone_does_not_raise_an_alarm() -> None:
    world = running_world()
    world.pods["auth"] = tuple(
        replace(p, ready=False) for p in world.pods["auth"]
    )  # Deployment still says ready
    assert evaluate(world)["auth"].health is Health.HEALTHY


def test_a_pod_the_pod_watch_has_not_delivered_yet_is_vouched_for_by_its_deployment() -> None:
    """Found by the safe-mode e2e test: the trader scaled back to 1, its Deployment reported the new pod Ready
    before the pod watch delivered it, and the operator read 0/1 and restarted a healthy trader."""
    world = running_world()
    world.pods["trader"] = ()
    assert world.deployments["trader"].ready_replicas == world.deployments["trader"].replicas == 1
    assert evaluate(world)["trader"].health is Health.HEALTHY


def test_a_deployment_that_counts_fewer_ready_than_it_wants_is_not_vouched_beyond_its_count() -> None:
    world = running_world()
    world.pods["trader"] = ()
    world.deployments["trader"] = replace(world.deployments["trader"], ready_replicas=0, available_replicas=0)
    assert (evaluate(world)["trader"].health, evaluate(world)["trader"].reason) == (
        Health.UNHEALTHY,
        "NotReady",
    )


def test_a_pod_seen_ready_that_turns_not_ready_is_unhealthy_before_its_deployment_catches_up() -> None:
    world = running_world()
    world.pods["auth"] = tuple(replace(p, ready=False, was_ready=True) for p in world.pods["auth"])
    assert world.deployments["auth"].ready_replicas == 1  # the controller has not caught up yet
    assert evaluate(world)["auth"].health is Health.UNHEALTHY


def test_a_stale_deployment_count_cannot_vouch_for_a_new_pod_while_the_old_one_failed() -> None:
    world = running_world()
    failed = replace(world.pods["auth"][0], ready=False, was_ready=True)
    new = replace(world.pods["auth"][0], name="auth-new", ready=False, was_ready=False)
    world.pods["auth"] = (failed, new)  # the Deployment still reports 1 ready: the failed pod, stale
    assert evaluate(world)["auth"].health is Health.UNHEALTHY


def test_all_healthy_when_every_pod_is_ready() -> None:
    health = evaluate(running_world())
    assert {a.health for a in health.values()} == {Health.HEALTHY}


def test_not_ready_is_unhealthy_and_dependents_are_degraded_with_the_root_cause() -> None:
    world = running_world()
    set_pods(world, "auth", ready=False)
    health = evaluate(world)
    assert (health["auth"].health, health["auth"].reason) == (Health.UNHEALTHY, "NotReady")
    for dependent in ("gateway", "balance-manager", "trader"):
        assert health[dependent].health is Health.DEGRADED
        assert health[dependent].reason == "DependencyUnhealthy"
        assert health[dependent].root_cause == "auth", dependent
    assert health["storage"].health is Health.HEALTHY


def test_root_cause_is_the_deepest_failing_dependency() -> None:
    world = running_world()
    set_pods(world, "storage", ready=False)
    set_pods(world, "gateway", ready=False)
    health = evaluate(world)
    assert health["trader"].root_cause == "storage"


def test_crash_loop_and_oom_are_named() -> None:
    world = running_world()
    set_pods(world, "gateway", ready=False, waiting_reason="CrashLoopBackOff", restarts=5)
    set_pods(world, "market-data", ready=False, last_terminated_reason="OOMKilled")
    health = evaluate(world)
    assert (health["gateway"].health, health["gateway"].reason) == (Health.UNHEALTHY, "CrashLoopBackOff")
    assert (health["market-data"].health, health["market-data"].reason) == (Health.UNHEALTHY, "OOMKilled")


def test_progress_deadline_and_rising_restarts() -> None:
    world = running_world()
    world.deployments["portfolio"] = replace(world.deployments["portfolio"], progress_deadline_exceeded=True)
    set_pods(world, "balance-manager", restarts=2)
    health = evaluate(world, previous_restarts={"balance-manager": 1})
    assert health["portfolio"].reason == "ProgressDeadlineExceeded"
    assert (health["balance-manager"].health, health["balance-manager"].reason) == (
        Health.DEGRADED,
        "RestartsRising",
    )


def test_partial_readiness_is_degraded() -> None:
    world = World.for_spec({"components": [{"name": "gateway", "replicas": 2}]})
    world.settle()
    pods = world.pods["gateway"]
    world.pods["gateway"] = (pods[0], replace(pods[1], ready=False))
    _sync_deployment(world, "gateway")
    assert evaluate(world)["gateway"].health is Health.DEGRADED


def test_worst_orders_health() -> None:
    assert worst([Health.HEALTHY, Health.DEGRADED]) is Health.DEGRADED
    assert worst([Health.HEALTHY, Health.UNHEALTHY, Health.UNKNOWN]) is Health.UNHEALTHY
    assert worst([]) is Health.UNKNOWN


def test_health_transitions_become_events() -> None:
    world = running_world()
    set_pods(world, "auth", ready=False)
    health = evaluate(world)
    events = health_events(world.plans, health, dict.fromkeys(health, Health.HEALTHY))
    unhealthy = [e for e in events if e.reason == "ComponentUnhealthy"]
    assert [(e.component, e.severity) for e in unhealthy] == [("auth", "critical")]
    assert any(e.reason == "ComponentDegraded" and "root cause: auth" in e.message for e in events)
    recovered = health_events(world.plans, evaluate(running_world()), {"auth": Health.UNHEALTHY})
    assert [(e.reason, e.component) for e in recovered] == [("ComponentRecovered", "auth")]


def test_pods_outside_the_plan_are_ignored() -> None:
    world = running_world()
    world.pods["stranger"] = (ObservedPod("x", "stranger", ready=False, terminating=False),)
    assert evaluate(world)["trader"].health is Health.HEALTHY


HELD = ComponentVerdict(ComponentState.STOPPED, "SafeMode", "held at 0 replicas")
STARTING = ComponentVerdict(ComponentState.STARTING, "Starting", "waiting for the Deployment")


def evaluate_with(
    world: World,
    verdicts: dict[str, ComponentVerdict],
    held: frozenset[str] = frozenset(),
    resuming: frozenset[str] = frozenset(),
) -> dict[str, Assessment]:
    decided = {**world.peek().verdicts, **verdicts}
    return assess(world.plans, world.graph, world.observed(), decided, {}, True, held, resuming)


def test_a_component_held_by_safe_mode_is_degraded_naming_the_failing_dependency() -> None:
    """Issue 12: held at 0 by safe mode is a planned state, not NotReady."""
    world = running_world()
    set_pods(world, "gateway", ready=False, was_ready=True)
    set_pods(world, "trader", ready=False, was_ready=True)  # its readiness follows the gateway
    health = evaluate_with(world, {"trader": HELD}, held=frozenset({"trader"}))
    assert health["trader"] == Assessment(
        Health.DEGRADED, "SafeMode", "held by safe mode: gateway Unhealthy", root_cause="gateway"
    )
    assert (health["gateway"].health, health["gateway"].reason) == (Health.UNHEALTHY, "NotReady")


def test_a_held_component_names_the_deepest_failure() -> None:
    world = running_world()
    set_pods(world, "auth", ready=False, was_ready=True)
    health = evaluate_with(world, {"trader": HELD}, held=frozenset({"trader"}))
    assert health["trader"].message == "held by safe mode: auth Unhealthy"
    assert health["trader"].root_cause == "auth"


def test_a_component_coming_back_from_safe_mode_is_degraded_until_ready() -> None:
    world = running_world()
    set_pods(world, "trader", ready=False, was_ready=False)  # the new pod after the scale-up
    resumed = evaluate_with(world, {"trader": STARTING}, resuming=frozenset({"trader"}))
    assert resumed["trader"] == Assessment(
        Health.DEGRADED, "Resuming", "coming back from safe mode: 0/1 pods ready"
    )
    # The same pods after an unplanned restart are a failure.
    assert evaluate_with(world, {"trader": STARTING})["trader"].health is Health.UNHEALTHY


def test_resuming_counts_against_the_planned_replicas_before_the_scale_up_is_seen() -> None:
    world = running_world()
    world.deployments["trader"] = replace(world.deployments["trader"], replicas=0, ready_replicas=0)
    world.pods.pop("trader")
    resumed = evaluate_with(world, {"trader": STARTING}, resuming=frozenset({"trader"}))
    assert (resumed["trader"].health, resumed["trader"].message) == (
        Health.DEGRADED,
        "coming back from safe mode: 0/1 pods ready",
    )


def test_a_real_failure_while_resuming_still_counts() -> None:
    world = running_world()
    set_pods(world, "trader", ready=False, waiting_reason="CrashLoopBackOff", restarts=3)
    health = evaluate_with(world, {"trader": STARTING}, resuming=frozenset({"trader"}))
    assert (health["trader"].health, health["trader"].reason) == (Health.UNHEALTHY, "CrashLoopBackOff")


def test_resuming_lasts_from_the_hold_until_the_component_is_healthy_again() -> None:
    previous = {"trader": "SafeMode", "portfolio": "Healthy", "gateway": "NotReady"}
    assert resuming_from_safe_mode(previous, held=frozenset()) == {"trader"}
    assert resuming_from_safe_mode(previous, held=frozenset({"trader"})) == frozenset()
    assert resuming_from_safe_mode({"trader": "Resuming"}, held=frozenset()) == {"trader"}
    assert resuming_from_safe_mode({"trader": "Healthy"}, held=frozenset()) == frozenset()


def test_safe_mode_raises_no_health_alert_of_its_own() -> None:
    """The hold is announced by recovery (RecoveryScale); health adds neither a warning nor a critical."""
    world = running_world()
    set_pods(world, "gateway", ready=False, was_ready=True)
    set_pods(world, "trader", ready=False, was_ready=True)
    health = evaluate_with(world, {"trader": HELD}, held=frozenset({"trader"}))
    events = health_events(world.plans, health, dict.fromkeys(health, Health.HEALTHY))
    assert [e for e in events if e.component == "trader"] == []
    assert [(e.component, e.severity) for e in events if e.reason == "ComponentUnhealthy"] == [
        ("gateway", "critical")
    ]
    back = health_events(world.plans, evaluate(running_world()), {"trader": Health.DEGRADED})
    assert [(e.reason, e.component, e.severity) for e in back] == [("ComponentRecovered", "trader", "info")]


def test_a_component_with_no_pod_ready_says_what_holds_its_pod_back() -> None:
    world = running_world()
    set_pods(
        world, "storage", ready=False, was_ready=True, not_ready_why="waiting for a volume to be created"
    )
    storage = evaluate(world)["storage"]
    pod = world.pods["storage"][0].name
    assert (storage.health, storage.reason) == (Health.UNHEALTHY, "NotReady")
    assert storage.message == f"0/1 pods ready (pod {pod}: waiting for a volume to be created)"
