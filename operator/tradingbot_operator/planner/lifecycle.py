"""Startup and shutdown decisions: which components run, at what replicas, and what to restart.

A pure function of (components, graph, observed cluster, remembered startup state, policy, now). Startup
gates each component on its dependencies being Ready for their current Deployment generation; readiness
ratchets, so a dependency that flaps later does not undo started components. Phases have a timeout,
bounded retries (restart the stuck components) and then failure, with rollback of what the attempt
started. Suspend, delete and rollback share one ordered teardown: a component stops only after everything
that depends on it, and everything in later phases, is gone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from tradingbot_operator.api.status import ComponentState, StartupStatus
from tradingbot_operator.api.types import Phase, StartupPolicy
from tradingbot_operator.planner.catalog import ComponentPlan
from tradingbot_operator.planner.graph import Graph, dependents
from tradingbot_operator.planner.observed import Observed
from tradingbot_operator.planner.timefmt import format_time, parse_time


class Mode(enum.StrEnum):
    RUN = "Run"
    SUSPEND = "Suspend"
    DELETE = "Delete"


class Outcome(enum.StrEnum):
    STARTING = "Starting"
    COMPLETE = "Complete"
    FAILED = "Failed"  # retries exhausted, nothing (more) to roll back
    ROLLING_BACK = "RollingBack"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to emit: type Normal or Warning, CamelCase reason."""

    type: str
    reason: str
    message: str
    component: str | None = None  # the component concerned, if any (alerts carry it)
    severity: str | None = None  # alert severity when not implied by type: info, warning, critical


@dataclass(frozen=True)
class ComponentVerdict:
    state: ComponentState
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class Decision:
    replicas: dict[str, int]  # Deployments that should exist, and their replicas
    restarts: frozenset[str]  # restart these now
    verdicts: dict[str, ComponentVerdict]
    startup: StartupStatus
    ready_generation: dict[str, int]  # the ratchet, remembered in status
    outcome: Outcome
    current_phase: Phase | None
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # seconds until a deadline needs another look


@dataclass(frozen=True)
class Memory:
    """What the previous reconcile wrote to status and this one needs."""

    startup: StartupStatus | None = None
    ready_generation: Mapping[str, int] = field(default_factory=dict)


def _ratchet(plans: Sequence[ComponentPlan], observed: Observed, memory: Memory) -> dict[str, int]:
    ratchet: dict[str, int] = {}
    for plan in plans:
        deployment = observed.deployments.get(plan.name)
        if deployment is None or deployment.replicas == 0:
            continue
        if deployment.rolled_out_ready or memory.ready_generation.get(plan.name) == deployment.generation:
            ratchet[plan.name] = deployment.generation
    return ratchet


def decide(
    plans: Sequence[ComponentPlan],
    graph: Graph,
    observed: Observed,
    memory: Memory,
    policy: StartupPolicy,
    mode: Mode,
    generation: int,
    now: datetime,
    held: frozenset[str] = frozenset(),
) -> Decision:
    """`held`: components recovery keeps at zero replicas (safe mode); they neither start nor gate startup."""
    ratchet = _ratchet(plans, observed, memory)
    startup = memory.startup
    if startup is None or startup.generation != generation:
        # A new spec generation is a new attempt; a bot that had finished starting stays finished.
        startup = StartupStatus(generation=generation, completed_at=startup.completed_at if startup else None)
    if mode is not Mode.RUN:
        stop = [p.name for p in plans if observed.running(p.name)]
        return _teardown(plans, graph, observed, ratchet, startup, stop, Outcome.STOPPING)
    if startup.failed:
        if policy.rollback_on_failure:
            stop = [name for name in started_by_attempt(plans, observed, startup) if observed.running(name)]
            return _teardown(plans, graph, observed, ratchet, startup, stop, Outcome.ROLLING_BACK)
        return _hold(plans, observed, ratchet, startup)
    return _start(plans, graph, observed, memory, ratchet, startup, policy, now, held)


def replace_startup(startup: StartupStatus, **changes: object) -> StartupStatus:
    return startup.model_copy(update=changes)


def started_by_attempt(
    plans: Sequence[ComponentPlan], observed: Observed, startup: StartupStatus
) -> list[str]:
    """What this attempt started: as recorded in status, plus every Deployment marked as scaled up by it.

    The mark is written with the scale-up itself and the record only with the status afterwards, so after a
    crash between the two the mark is what remembers (and what a rollback must stop).
    """
    started = list(startup.started)
    for plan in plans:
        deployment = observed.deployments.get(plan.name)
        if deployment and deployment.started_by == startup.generation and plan.name not in started:
            started.append(plan.name)
    return started


def _start(
    plans: Sequence[ComponentPlan],
    graph: Graph,
    observed: Observed,
    memory: Memory,
    ratchet: dict[str, int],
    startup: StartupStatus,
    policy: StartupPolicy,
    now: datetime,
    held: frozenset[str] = frozenset(),
) -> Decision:
    events: list[Event] = []
    failed = set(startup.failed_components)
    blocked = set().union(*(dependents(graph, f) for f in failed)) if failed else set()
    started = started_by_attempt(plans, observed, startup)
    replicas: dict[str, int] = {}
    verdicts: dict[str, ComponentVerdict] = {}
    core_ready = observed.credentials_present

    for plan in plans:
        name, deployment = plan.name, observed.deployments.get(plan.name)
        if name in held:
            if deployment is not None:
                replicas[name] = 0
            verdicts[name] = ComponentVerdict(
                ComponentState.STOPPED,
                "SafeMode",
                "held at 0 replicas while a critical dependency is Unhealthy",
            )
            continue
        missing = sorted(d for d in graph[name] if d not in ratchet)
        eligible = core_ready and not missing and name not in blocked
        running = deployment is not None and deployment.replicas > 0
        if eligible or running:
            replicas[name] = plan.replicas
            if not running and name not in started:
                started.append(name)
                events.append(Event("Normal", "ComponentStarting", f"starting {name} ({plan.phase})"))
        elif deployment is not None:
            replicas[name] = 0
        if name in ratchet and name not in memory.ready_generation:
            events.append(Event("Normal", "ComponentReady", f"{name} is Ready"))
        verdicts[name] = _verdict(name, ratchet, failed, blocked, missing, core_ready, eligible or running)

    pending = [
        p for p in plans if p.name not in ratchet and p.name not in failed | blocked | held and p.replicas > 0
    ]
    # Once startup has completed, a component that stops being Ready is health's and recovery's business:
    # it does not reopen startup phases, their timeouts or rollback (it still waits for its dependencies).
    current = (
        None
        if startup.completed_at
        else min((p.phase for p in pending), key=lambda ph: ph.rank, default=None)
    )
    restarts: frozenset[str] = frozenset()
    requeue: float | None = None
    if current != startup.phase:
        startup = replace_startup(
            startup, phase=current, phase_started_at=format_time(now) if current else None, retries=0
        )
        if current is not None:
            events.append(Event("Normal", "PhaseStarted", f"starting phase {current}"))
    if current is not None and startup.phase_started_at:
        elapsed = (now - parse_time(startup.phase_started_at)).total_seconds()
        stuck = [p for p in pending if p.phase == current and replicas.get(p.name, 0) > 0]
        if elapsed >= policy.phase_timeout_seconds and stuck:
            names = ", ".join(p.name for p in stuck)
            if startup.retries < policy.max_retries:
                restarts = frozenset(p.name for p in stuck)
                startup = replace_startup(
                    startup, retries=startup.retries + 1, phase_started_at=format_time(now)
                )
                events.append(
                    Event(
                        "Warning",
                        "PhaseTimeout",
                        f"phase {current} not Ready after {int(elapsed)}s: restarting {names} "
                        f"(retry {startup.retries}/{policy.max_retries})",
                    )
                )
                elapsed = 0.0
            else:
                failed |= {p.name for p in stuck}
                critical = [p.name for p in stuck if p.critical]
                startup = replace_startup(startup, failed_components=sorted(failed), failed=bool(critical))
                if critical:
                    events.append(
                        Event(
                            "Warning",
                            "StartupFailed",
                            f"phase {current} failed after {policy.max_retries} retries: "
                            f"{', '.join(critical)} never became Ready",
                        )
                    )
                    memory = Memory(
                        startup=replace_startup(startup, started=started), ready_generation=ratchet
                    )
                    return decide_after_failure(plans, graph, observed, memory, policy, now, events)
                events.append(
                    Event(
                        "Warning",
                        "ComponentFailed",
                        f"non-critical {names} never became Ready; continuing without it",
                    )
                )
                memory = Memory(startup=memory.startup, ready_generation=ratchet)
                result = _start(
                    plans,
                    graph,
                    observed,
                    memory,
                    ratchet,
                    replace_startup(startup, started=started),
                    policy,
                    now,
                )
                return replace(result, events=[*events, *result.events])
        requeue = max(policy.phase_timeout_seconds - elapsed, 1.0)
    if current is None and startup.completed_at is None:
        startup = replace_startup(startup, completed_at=format_time(now))
        events.append(Event("Normal", "StartupComplete", "every phase is Ready"))
    startup = replace_startup(startup, started=started)
    outcome = Outcome.COMPLETE if current is None else Outcome.STARTING
    return Decision(replicas, restarts, verdicts, startup, ratchet, outcome, current, events, requeue)


def decide_after_failure(
    plans: Sequence[ComponentPlan],
    graph: Graph,
    observed: Observed,
    memory: Memory,
    policy: StartupPolicy,
    now: datetime,
    events: list[Event],
) -> Decision:
    assert memory.startup is not None
    decision = decide(plans, graph, observed, memory, policy, Mode.RUN, memory.startup.generation, now)
    if policy.rollback_on_failure and decision.outcome is Outcome.ROLLING_BACK:
        events = [
            *events,
            Event(
                "Warning",
                "RollbackStarted",
                f"scaling down, in reverse order: {', '.join(reversed(memory.startup.started))}",
            ),
        ]
    return replace(decision, events=[*events, *decision.events])


def _verdict(
    name: str,
    ratchet: Mapping[str, int],
    failed: set[str],
    blocked: set[str],
    missing: list[str],
    core_ready: bool,
    scheduled: bool,
) -> ComponentVerdict:
    if name in failed:
        return ComponentVerdict(
            ComponentState.FAILED, "StartupTimeout", "never became Ready; retries exhausted"
        )
    if name in ratchet:
        return ComponentVerdict(ComponentState.READY, "Ready")
    if name in blocked:
        return ComponentVerdict(ComponentState.WAITING, "DependencyFailed", "a dependency failed to start")
    if not core_ready:
        return ComponentVerdict(ComponentState.WAITING, "CredentialsMissing", "credentials Secret not found")
    if scheduled:
        return ComponentVerdict(
            ComponentState.STARTING, "Starting", "waiting for the Deployment to become Ready"
        )
    return ComponentVerdict(
        ComponentState.WAITING, "WaitingForDependencies", "waiting for " + ", ".join(missing)
    )


def _hold(
    plans: Sequence[ComponentPlan], observed: Observed, ratchet: dict[str, int], startup: StartupStatus
) -> Decision:
    """Failed without rollback: keep what runs as it is."""
    replicas = {
        p.name: observed.deployments[p.name].replicas for p in plans if p.name in observed.deployments
    }
    failed = set(startup.failed_components)
    verdicts = {
        p.name: ComponentVerdict(
            ComponentState.FAILED, "StartupTimeout", "never became Ready; retries exhausted"
        )
        if p.name in failed
        else ComponentVerdict(
            ComponentState.READY if p.name in ratchet else ComponentState.WAITING,
            "Ready" if p.name in ratchet else "StartupFailed",
        )
        for p in plans
    }
    return Decision(replicas, frozenset(), verdicts, startup, ratchet, Outcome.FAILED, startup.phase)


def _teardown(
    plans: Sequence[ComponentPlan],
    graph: Graph,
    observed: Observed,
    ratchet: dict[str, int],
    startup: StartupStatus,
    stop: Sequence[str],
    outcome: Outcome,
) -> Decision:
    """Scale `stop` to zero in reverse dependency/phase order, one step per reconcile as pods disappear."""
    by_name = {p.name: p for p in plans}
    to_stop = set(stop)
    rolled_back = set(startup.started) if outcome is Outcome.ROLLING_BACK else set()
    replicas: dict[str, int] = {}
    verdicts: dict[str, ComponentVerdict] = {}
    events: list[Event] = []
    for plan in plans:
        name, deployment = plan.name, observed.deployments.get(plan.name)
        if deployment is None:
            never_started = outcome is Outcome.ROLLING_BACK and name not in rolled_back
            verdicts[name] = (
                ComponentVerdict(ComponentState.WAITING, "StartupFailed", "not started: startup failed")
                if never_started
                else ComponentVerdict(ComponentState.STOPPED, "Stopped")
            )
            continue
        if name not in to_stop:
            replicas[name] = deployment.replicas
            if outcome is Outcome.ROLLING_BACK and name not in rolled_back:
                verdicts[name] = ComponentVerdict(
                    ComponentState.READY if name in ratchet else ComponentState.WAITING,
                    "Ready" if name in ratchet else "StartupFailed",
                )
            else:
                verdicts[name] = ComponentVerdict(
                    ComponentState.STOPPED, "RolledBack" if rolled_back else "Stopped"
                )
            continue
        waiting_on = sorted(
            other
            for other in to_stop
            if other != name and (by_name[other].phase.rank > plan.phase.rank or name in graph[other])
        )
        if deployment.replicas == 0 or not waiting_on:
            replicas[name] = 0
            if deployment.replicas > 0:
                events.append(Event("Normal", "ComponentStopping", f"stopping {name} ({plan.phase})"))
            verdicts[name] = ComponentVerdict(
                ComponentState.STOPPING, "Stopping", "waiting for its pods to be gone"
            )
        else:
            replicas[name] = deployment.replicas
            verdicts[name] = ComponentVerdict(
                ComponentState.STOPPING, "WaitingForDependents", "stops after " + ", ".join(waiting_on)
            )
    final = outcome
    if not to_stop:
        final = Outcome.FAILED if outcome is Outcome.ROLLING_BACK else Outcome.STOPPED
    if outcome is Outcome.STOPPING:
        startup = replace_startup(startup, completed_at=None, phase=None, phase_started_at=None)
    return Decision(replicas, frozenset(), verdicts, startup, ratchet, final, None, events)
