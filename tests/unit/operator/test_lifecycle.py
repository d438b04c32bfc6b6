"""Startup gating, ratcheting, timeouts, retries, rollback, suspend and teardown, played on a small world."""

from __future__ import annotations

from tests.unit.operator.world import World
from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.api.status import ComponentState
from tradingbot_operator.planner.lifecycle import Mode, Outcome

DEFAULT_ORDER = list(COMPONENT_NAMES)


def test_first_reconcile_creates_only_the_first_phase() -> None:
    world = World.for_spec()
    decision = world.step()
    assert sorted(decision.replicas) == ["exchange-sim", "storage"]
    assert decision.current_phase == "Infrastructure"
    assert decision.verdicts["auth"].state is ComponentState.WAITING
    assert decision.verdicts["auth"].message == "waiting for exchange-sim, storage"


def test_components_are_created_in_dependency_order_until_complete() -> None:
    world = World.for_spec()
    decision = world.settle()
    assert decision.outcome is Outcome.COMPLETE
    assert world.created() == DEFAULT_ORDER
    assert {e.reason for e in decision.events} <= {
        "ComponentReady",
        "StartupComplete",
        "ComponentStarting",
        "PhaseStarted",
    }
    assert decision.startup.completed_at is not None


def test_a_stuck_component_holds_back_every_later_phase_until_it_is_ready() -> None:
    world = World.for_spec(stuck={"auth"})
    decision = world.settle()
    assert decision.outcome is Outcome.STARTING and decision.current_phase == "Auth"
    assert world.created() == ["storage", "exchange-sim", "auth"]
    assert decision.verdicts["gateway"].reason == "WaitingForDependencies"
    world.stuck.clear()
    decision = world.settle()
    assert decision.outcome is Outcome.COMPLETE
    assert world.created() == DEFAULT_ORDER


def test_ready_ratchets_so_a_flapping_dependency_does_not_stop_dependents() -> None:
    world = World.for_spec()
    world.settle()
    world.stuck.add("storage")  # storage loses readiness after startup
    world._kubelet()
    decision = world.settle()
    assert decision.replicas["trader"] == 1
    assert world.scaled_down() == []


def test_phase_timeout_restarts_the_stuck_component_then_fails_and_rolls_back_in_reverse() -> None:
    world = World.for_spec({"startup": {"phaseTimeoutSeconds": 60, "maxRetries": 2}}, stuck={"gateway"})
    decision = world.settle()
    assert decision.current_phase == "Network" and decision.requeue_after == 60
    for attempt in (1, 2):
        world.advance(61)
        decision = world.step()
        assert decision.restarts == frozenset({"gateway"})
        assert decision.startup.retries == attempt
        assert any(e.reason == "PhaseTimeout" for e in decision.events)
        world.settle()
    world.advance(61)
    decision = world.step()
    assert decision.startup.failed and decision.startup.failed_components == ["gateway"]
    assert [e.reason for e in decision.events][:2] == ["StartupFailed", "RollbackStarted"]
    decision = world.settle()
    assert decision.outcome is Outcome.FAILED
    # Rollback scales down what the attempt started, latest phase first.
    assert sorted(world.scaled_down()) == ["auth", "exchange-sim", "gateway", "market-data", "storage"]
    for later, earlier in [
        ("gateway", "auth"),
        ("market-data", "auth"),
        ("auth", "storage"),
        ("auth", "exchange-sim"),
    ]:
        assert world.stopped_before(later, earlier)
    assert world.scaled_down().index("auth") > world.scaled_down().index("market-data")
    assert all(r == 0 for r in decision.replicas.values())
    assert decision.verdicts["gateway"].state is ComponentState.STOPPED


def test_failure_without_rollback_keeps_what_runs() -> None:
    spec = {"startup": {"phaseTimeoutSeconds": 10, "maxRetries": 0, "rollbackOnFailure": False}}
    world = World.for_spec(spec, stuck={"auth"})
    world.settle()
    world.advance(11)
    decision = world.settle()
    assert decision.outcome is Outcome.FAILED
    assert decision.replicas == {"storage": 1, "exchange-sim": 1, "auth": 1}
    assert decision.verdicts["auth"].state is ComponentState.FAILED


def test_a_new_spec_generation_after_failure_is_a_fresh_attempt() -> None:
    world = World.for_spec({"startup": {"phaseTimeoutSeconds": 10, "maxRetries": 0}}, stuck={"auth"})
    world.settle()
    world.advance(11)
    assert world.settle().outcome is Outcome.FAILED
    world.stuck.clear()
    world.generation = 2
    decision = world.settle()
    assert decision.outcome is Outcome.COMPLETE
    assert not decision.startup.failed


def test_non_critical_component_failure_does_not_block_the_others() -> None:
    spec = {
        "startup": {"phaseTimeoutSeconds": 10, "maxRetries": 0},
        "components": [
            {"name": "signals", "image": "x", "phase": "Network", "critical": False},
            {"name": "dashboard", "image": "x", "phase": "Services", "dependsOn": ["signals"]},
        ],
    }
    world = World.for_spec(spec, stuck={"signals"})
    world.settle()
    world.advance(11)
    decision = world.settle()
    assert decision.outcome is Outcome.COMPLETE
    assert decision.verdicts["signals"].state is ComponentState.FAILED
    assert decision.verdicts["dashboard"].reason == "DependencyFailed"
    assert "dashboard" not in decision.replicas
    assert decision.replicas["trader"] == 1


def test_suspend_stops_in_reverse_order_waiting_for_each_step() -> None:
    world = World.for_spec()
    world.settle()
    first = world.step(Mode.SUSPEND)
    # Only the last components (nothing depends on them, nothing later) stop first.
    assert {n for n, r in first.replicas.items() if r == 0} == {"trader"}
    decision = world.settle(Mode.SUSPEND)
    assert decision.outcome is Outcome.STOPPED
    assert sorted(world.scaled_down()) == sorted(DEFAULT_ORDER)
    graph = world.graph
    for name in DEFAULT_ORDER:
        for dependent in (d for d, deps in graph.items() if name in deps):
            assert world.stopped_before(dependent, name), f"{dependent} must stop before {name}"
    assert world.stopped_before("portfolio", "gateway") and world.stopped_before("gateway", "auth")
    assert set(decision.replicas) == set(DEFAULT_ORDER)  # Deployments stay, at zero


def test_resume_after_suspend_starts_in_order_again() -> None:
    world = World.for_spec()
    world.settle()
    world.settle(Mode.SUSPEND)
    world.history.clear()
    world.generation = 2
    decision = world.settle()
    assert decision.outcome is Outcome.COMPLETE
    assert [n for a, n, r in world.history if a == "scale" and r > 0] == DEFAULT_ORDER


def test_teardown_waits_for_terminating_pods() -> None:
    world = World.for_spec()
    world.settle()
    world.lingering.add("trader")
    world.step(Mode.DELETE)  # trader -> 0, its pod stays Terminating
    decision = world.step(Mode.DELETE)
    assert decision.replicas["portfolio"] == 1, "portfolio must wait until trader's pods are gone"
    assert decision.verdicts["trader"].state is ComponentState.STOPPING
    world.lingering.clear()
    world._kubelet()
    decision = world.settle(Mode.DELETE)
    assert decision.outcome is Outcome.STOPPED


def test_delete_before_anything_started_finishes_at_once() -> None:
    world = World.for_spec()
    assert world.step(Mode.DELETE).outcome is Outcome.STOPPED
