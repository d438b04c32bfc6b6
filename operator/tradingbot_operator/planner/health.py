"""Component health derived from observed Deployment and Pod status, cascading along dependencies.

Pure: `assess(plans, graph, observed, verdicts, previous_restarts)` gives every component a Health with a
CamelCase reason, and names the root cause when a component suffers from a failing dependency.

Safe mode is a planned action, not a failure: a component recovery holds at zero replicas is Degraded
(`SafeMode`, root cause the failing dependency), and one coming back after the hold is Degraded (`Resuming`)
until it is Ready again, so neither raises a critical alert. A real failure while resuming (crash loop, OOM,
progress deadline) still counts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from tradingbot_operator.api.status import ComponentState, Health
from tradingbot_operator.planner.catalog import ComponentPlan
from tradingbot_operator.planner.graph import Graph
from tradingbot_operator.planner.lifecycle import ComponentVerdict, Event
from tradingbot_operator.planner.observed import Observed

_RANK = {Health.HEALTHY: 0, Health.UNKNOWN: 1, Health.DEGRADED: 2, Health.UNHEALTHY: 3}

SAFE_MODE = "SafeMode"  # held at zero replicas while a dependency it needs is Unhealthy
RESUMING = "Resuming"  # the hold was lifted; not Ready again yet
# Reasons of planned holds: recovery announces them (RecoveryScale), so health adds no event of its own.
PLANNED = frozenset({SAFE_MODE, RESUMING})


def worst(healths: Sequence[Health]) -> Health:
    return max(healths, key=_RANK.__getitem__, default=Health.UNKNOWN)


@dataclass(frozen=True)
class Assessment:
    health: Health
    reason: str
    message: str = ""
    root_cause: str | None = None


def resuming_from_safe_mode(previous_reasons: Mapping[str, str], held: Collection[str]) -> frozenset[str]:
    """Components coming back from a safe-mode hold: last reported as held or resuming, and not held now.

    The status row carries this from one reconcile to the next; it ends when the component is Ready again
    (then its reason is no longer `SafeMode` or `Resuming`).
    """
    return frozenset(name for name, reason in previous_reasons.items() if reason in PLANNED) - set(held)


def _own(
    plan: ComponentPlan,
    observed: Observed,
    verdict: ComponentVerdict,
    previous_restarts: int,
    started: bool,
    resuming: bool = False,
) -> Assessment:
    if resuming and verdict.state is ComponentState.WAITING:
        return Assessment(Health.DEGRADED, RESUMING, f"coming back from safe mode: {verdict.message}")
    if verdict.state in (ComponentState.WAITING, ComponentState.STOPPED, ComponentState.STOPPING):
        return Assessment(Health.UNKNOWN, verdict.reason or verdict.state.value, verdict.message)
    deployment = observed.deployments.get(plan.name)
    if deployment is None:
        return Assessment(Health.UNKNOWN, "NotCreated", "no Deployment yet")
    pods = observed.pods_of(plan.name)
    crash = next((p for p in pods if p.waiting_reason == "CrashLoopBackOff"), None)
    if crash:
        return Assessment(Health.UNHEALTHY, "CrashLoopBackOff", f"pod {crash.name} is in CrashLoopBackOff")
    oom = next((p for p in pods if p.last_terminated_reason == "OOMKilled" and not p.ready), None)
    if oom:
        return Assessment(
            Health.UNHEALTHY, "OOMKilled", f"pod {oom.name} was OOMKilled; raise its memory limit"
        )
    if deployment.progress_deadline_exceeded:
        return Assessment(
            Health.UNHEALTHY, "ProgressDeadlineExceeded", "the rollout made no progress in time"
        )
    wanted = deployment.replicas
    # Pods and Deployments arrive on separate watches, so either may lag. A pod seen Ready before and NotReady
    # now has failed: act on it at once. A pod never seen Ready may just be a stale index entry, so for those
    # the Deployment's controller decides (no false alarm, at the price of its propagation delay).
    # The Deployment's count may be stale and include pods known to have failed, so it can vouch only for
    # what it counts beyond the pods already known ready or failed: unproven pods, and pods the pod watch has
    # not delivered yet (a scale-up the Deployment already counts Ready would otherwise read 0/N, a restart).
    live = [p for p in pods if not p.terminating]
    ready = sum(1 for p in live if p.ready)
    failed = sum(1 for p in live if not p.ready and p.was_ready)
    unproven = sum(1 for p in live if not p.ready and not p.was_ready)
    not_indexed = max(0, deployment.replicas - len(live))
    ready += min(unproven + not_indexed, max(0, deployment.ready_replicas - ready - failed))
    why = next((f" (pod {p.name}: {p.not_ready_why})" for p in live if not p.ready and p.not_ready_why), "")
    if verdict.state is ComponentState.STARTING and not started and ready < wanted:
        return Assessment(Health.UNKNOWN, "Starting", f"{ready}/{wanted} pods ready{why}")
    if verdict.state is ComponentState.STARTING and resuming:
        # The Deployment may not show the scale-up yet: count against the replicas the plan asks for.
        wanted = max(wanted, plan.replicas)
        return Assessment(
            Health.DEGRADED, RESUMING, f"coming back from safe mode: {ready}/{wanted} pods ready"
        )
    if wanted and ready == 0:
        return Assessment(Health.UNHEALTHY, "NotReady", f"0/{wanted} pods ready{why}")
    if ready < wanted:
        return Assessment(Health.DEGRADED, "NotReady", f"{ready}/{wanted} pods ready{why}")
    oom_recovered = next((p for p in pods if p.last_terminated_reason == "OOMKilled"), None)
    if oom_recovered:
        return Assessment(
            Health.DEGRADED, "OOMKilled", f"pod {oom_recovered.name} was OOMKilled and restarted"
        )
    restarts = sum(p.restarts for p in pods)
    if restarts > previous_restarts:
        return Assessment(
            Health.DEGRADED, "RestartsRising", f"{restarts - previous_restarts} new container restarts"
        )
    return Assessment(Health.HEALTHY, "Healthy")


def assess(
    plans: Sequence[ComponentPlan],
    graph: Graph,
    observed: Observed,
    verdicts: Mapping[str, ComponentVerdict],
    previous_restarts: Mapping[str, int],
    startup_complete: bool = False,
    held: Collection[str] = frozenset(),
    resuming: Collection[str] = frozenset(),
) -> dict[str, Assessment]:
    """Own health first, then cascade: a healthy-looking component whose dependency is unhealthy is Degraded.

    Before startup completes, a component that is still coming up is Unknown ("Starting"), not Unhealthy.
    `held`: components safe mode keeps at zero replicas; `resuming`: those whose hold was lifted (see
    `resuming_from_safe_mode`).
    """
    own = {
        p.name: _own(
            p,
            observed,
            verdicts[p.name],
            previous_restarts.get(p.name, 0),
            startup_complete,
            p.name in resuming,
        )
        for p in plans
    }

    def root_cause(name: str, seen: frozenset[str] = frozenset()) -> str | None:
        # The deepest unhealthy dependency, so the status points at the failure, not at its victims.
        for dep in sorted(graph.get(name, ())):
            if dep in seen or dep not in own:
                continue
            deeper = root_cause(dep, seen | {name})
            if deeper:
                return deeper
            if own[dep].health is Health.UNHEALTHY:
                return dep
        return None

    for name in held:
        if name in own:
            cause = root_cause(name)
            why = f"{cause} {own[cause].health}" if cause else "a dependency it needs is Unhealthy"
            own[name] = Assessment(Health.DEGRADED, SAFE_MODE, f"held by safe mode: {why}", cause)

    result: dict[str, Assessment] = {}
    for plan in plans:
        mine = own[plan.name]
        cause = root_cause(plan.name)
        if cause and mine.reason in PLANNED:
            # Keep the planned reason (the status carries it to the next reconcile); name the failure.
            result[plan.name] = replace(mine, root_cause=mine.root_cause or cause)
        elif cause and mine.health in (Health.HEALTHY, Health.DEGRADED):
            result[plan.name] = Assessment(
                Health.DEGRADED, "DependencyUnhealthy", f"{cause} is {own[cause].reason}", root_cause=cause
            )
        else:
            result[plan.name] = mine
    return result


def health_events(
    plans: Sequence[ComponentPlan], health: Mapping[str, Assessment], previous: Mapping[str, Health]
) -> list[Event]:
    """Events for health transitions: a component turned Unhealthy or Degraded, or recovered."""
    events = []
    for plan in plans:
        now, before = health[plan.name], previous.get(plan.name, Health.UNKNOWN)
        if now.health == before:
            continue
        detail = f"{now.reason}: {now.message}" if now.message else now.reason
        if now.health is Health.UNHEALTHY:
            severity = "critical" if plan.critical else "warning"
            events.append(
                Event("Warning", "ComponentUnhealthy", f"{plan.name} is {detail}", plan.name, severity)
            )
        elif now.health is Health.DEGRADED and now.reason not in PLANNED:
            cause = f" (root cause: {now.root_cause})" if now.root_cause else ""
            events.append(Event("Warning", "ComponentDegraded", f"{plan.name} is {detail}{cause}", plan.name))
        elif now.health is Health.HEALTHY and before in (Health.UNHEALTHY, Health.DEGRADED):
            events.append(
                Event("Normal", "ComponentRecovered", f"{plan.name} is Healthy again", plan.name, "info")
            )
    return events
