"""Recovery decisions: restart unhealthy components within a budget, hold the trader in safe mode.

Pure. Recovery acts only after startup has completed (during startup, phase retries own stuck components)
and only on what the operator can fix: a component whose pods run but stay NotReady is restarted through
its pod template, with a doubling backoff and at most `maxRestarts` per `windowSeconds`. A container that
exited, CrashLoopBackOff and OOMKilled are the kubelet's to restart (it already does, with its own
backoff), so they are reported, never fought: a pod whose container exited is left to the kubelet until
its restarted container has had `KUBELET_GRACE` seconds to become Ready again. While a critical dependency
of the trader is Unhealthy the trader is held at zero replicas (safe mode, a planned action: health reports
it Degraded, never restarts it, and raises no critical alert).
A manual request (annotation `tradingbot.dev/restart: <component>|all`) restarts regardless of budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tradingbot_operator.api.status import ComponentStatus, Health, Recovery
from tradingbot_operator.planner.catalog import ComponentPlan
from tradingbot_operator.planner.health import Assessment
from tradingbot_operator.planner.lifecycle import Event
from tradingbot_operator.planner.observed import Observed, ObservedPod
from tradingbot_operator.planner.timefmt import format_time, parse_time

# Components that cannot act safely without these dependencies: held at 0 replicas while one is Unhealthy.
SAFE_MODE = {"trader": ("gateway", "auth", "market-data")}
RESTARTABLE = {"NotReady"}
# How long a container the kubelet restarted gets to be Ready again before the operator restarts its pod:
# a component's start (a few seconds) plus a few 5 s readiness periods, with room for a slow dependency.
KUBELET_GRACE = 60.0


@dataclass(frozen=True)
class RecoveryAction:
    component: str
    action: str  # Restart | Scale
    reason: str


@dataclass(frozen=True)
class RecoveryDecision:
    restarts: frozenset[str] = frozenset()
    held: frozenset[str] = frozenset()
    recent_restarts: dict[str, list[str]] = field(default_factory=dict)
    last_recovery: dict[str, Recovery] = field(default_factory=dict)
    exhausted: tuple[str, ...] = ()
    actions: tuple[RecoveryAction, ...] = ()
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None
    clear_request: bool = False


def _within(times: Sequence[str], window: int, now: datetime) -> list[str]:
    return [t for t in times if (now - parse_time(t)).total_seconds() < window]


def plan_recovery(
    plans: Sequence[ComponentPlan],
    health: Mapping[str, Assessment],
    observed: Observed,
    previous: Mapping[str, ComponentStatus],
    *,
    startup_complete: bool,
    safe_mode: bool,
    restart_request: str | None,
    ready_generation: Mapping[str, int],
    now: datetime,
) -> RecoveryDecision:
    stamp = format_time(now)
    restarts: set[str] = set()
    recent: dict[str, list[str]] = {}
    last: dict[str, Recovery] = {}
    actions: list[RecoveryAction] = []
    events: list[Event] = []
    exhausted: list[str] = []
    waits: list[float] = []
    running = {p.name for p in plans if (d := observed.deployments.get(p.name)) and d.replicas > 0}
    requested = _requested(restart_request, plans)
    holds = _safe_mode_holds(plans, health, safe_mode=safe_mode, startup_complete=startup_complete)

    for plan in plans:
        name, policy, before = plan.name, plan.recovery, previous.get(plan.name)
        history = _within(before.recent_restarts if before else [], policy.window_seconds, now)
        recent[name] = history
        assessment = health[name]
        if name in requested and name in running:
            restarts.add(name)
            last[name] = Recovery(action="Restart", time=stamp, reason="ManualRequest")
            actions.append(RecoveryAction(name, "Restart", "ManualRequest"))
            events.append(
                Event("Normal", "RecoveryRestart", f"restarting {name}: requested by annotation", name)
            )
            continue
        deployment = observed.deployments.get(name)
        # Only a generation that was Ready once can fail: a restart (or any rollout) that never became Ready
        # is left to its progress deadline, which health reports; restarting it again would be a storm.
        settled = deployment is not None and ready_generation.get(name) == deployment.generation
        needs_restart = (
            startup_complete
            and not holds.get(name)  # NotReady because what it needs is down: it is scaled to 0 instead
            and name in running
            and settled
            and assessment.health is Health.UNHEALTHY
            and assessment.reason in RESTARTABLE
        )
        if not needs_restart or not policy.enabled:
            continue
        if (turn := kubelets_turn(observed.pods_of(name), now)) is not None:
            waits.append(turn)
            continue
        if len(history) >= policy.max_restarts:
            exhausted.append(name)
            if not (before and before.last_recovery and before.last_recovery.action == "BudgetExhausted"):
                last[name] = Recovery(action="BudgetExhausted", time=stamp, reason=assessment.reason)
                events.append(
                    Event(
                        "Warning",
                        "RecoveryBudgetExhausted",
                        f"{name} is {assessment.reason} after {len(history)} restarts in "
                        f"{policy.window_seconds}s; not restarting again",
                        name,
                        "critical",
                    )
                )
            continue
        if history:
            backoff = policy.backoff_seconds * 2 ** (len(history) - 1)
            remaining = backoff - (now - parse_time(history[-1])).total_seconds()
            if remaining > 0:
                waits.append(remaining)
                continue
        restarts.add(name)
        recent[name] = [*history, stamp]
        last[name] = Recovery(
            action="Restart", time=stamp, reason=f"{assessment.reason}: {assessment.message}"
        )
        actions.append(RecoveryAction(name, "Restart", assessment.reason))
        events.append(
            Event(
                "Warning",
                "RecoveryRestart",
                f"restarting {name} ({assessment.reason}: {assessment.message}); "
                f"restart {len(history) + 1}/{policy.max_restarts} in the window",
                name,
            )
        )

    for target in SAFE_MODE:
        failing = holds.get(target)
        if failing is None:
            continue
        was_held = bool(previous.get(target) and previous[target].safe_mode)
        if failing:
            if not was_held:
                reason = f"{', '.join(failing)} Unhealthy"
                last[target] = Recovery(action="Scale", time=stamp, reason=f"scaled to 0: {reason}")
                actions.append(RecoveryAction(target, "Scale", "SafeMode"))
                events.append(Event("Warning", "RecoveryScale", f"scaling {target} to 0: {reason}", target))
        elif was_held:
            last[target] = Recovery(action="Scale", time=stamp, reason="restored: dependencies healthy")
            actions.append(RecoveryAction(target, "Scale", "Restore"))
            events.append(
                Event("Normal", "RecoveryScale", f"restoring {target}: its dependencies are healthy", target)
            )

    return RecoveryDecision(
        restarts=frozenset(restarts),
        held=frozenset(name for name, failing in holds.items() if failing),
        recent_restarts=recent,
        last_recovery=last,
        exhausted=tuple(exhausted),
        actions=tuple(actions),
        events=tuple(events),
        requeue_after=min(waits) if waits else None,
        clear_request=restart_request is not None,
    )


def kubelets_turn(pods: Sequence[ObservedPod], now: datetime) -> float | None:
    """Seconds to leave a NotReady component to the kubelet; None when it is the operator's to restart.

    The kubelet's turn: every pod that failed (seen Ready, NotReady now) has a container that exited and is
    being started again, or was started again less than `KUBELET_GRACE` ago. Restarting such a pod would
    replace a pod the kubelet is already repairing."""
    failed = [p for p in pods if not p.terminating and p.was_ready and not p.ready]
    if not failed or not all(p.kubelet_restarting for p in failed):
        return None
    left = []
    for pod in failed:
        if not pod.container_running or pod.running_since is None:
            left.append(KUBELET_GRACE)  # not started again yet: the pod watch brings the start
            continue
        remaining = KUBELET_GRACE - (now.timestamp() - pod.running_since)
        if remaining <= 0:
            return None
        left.append(remaining)
    return min(left)


def _safe_mode_holds(
    plans: Sequence[ComponentPlan],
    health: Mapping[str, Assessment],
    *,
    safe_mode: bool,
    startup_complete: bool,
) -> dict[str, list[str]]:
    """Safe-mode targets this bot has, each with its Unhealthy dependencies (held when there are any)."""
    holds: dict[str, list[str]] = {}
    by_name = {p.name: p for p in plans}
    for target, dependencies in SAFE_MODE.items():
        plan = by_name.get(target)
        if plan is None or not safe_mode or not plan.recovery.enabled or not startup_complete:
            continue
        holds[target] = [d for d in dependencies if d in health and health[d].health is Health.UNHEALTHY]
    return holds


def _requested(request: str | None, plans: Sequence[ComponentPlan]) -> set[str]:
    if not request:
        return set()
    names = {p.name for p in plans}
    wanted = {part.strip() for part in request.split(",") if part.strip()}
    return names if "all" in wanted else wanted & names
