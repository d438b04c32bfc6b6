"""The bot's status report: per-component rows, bot phase and health, and the conditions.

Pure: built from the lifecycle decision, the health assessment and the previous status (for condition
transition times and the bounded alert list).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from tradingbot_operator.api.status import (
    Alert,
    BotPhase,
    ComponentState,
    ComponentStatus,
    ConfigStatus,
    Health,
    TradingBotStatus,
)
from tradingbot_operator.planner.catalog import ComponentPlan
from tradingbot_operator.planner.conditions import ConditionUpdate, merge_conditions
from tradingbot_operator.planner.health import Assessment, worst
from tradingbot_operator.planner.lifecycle import ComponentVerdict, Decision, Event, Mode, Outcome
from tradingbot_operator.planner.observed import Observed
from tradingbot_operator.planner.recovery import RecoveryDecision
from tradingbot_operator.planner.timefmt import format_time

MAX_ALERTS = 20


def _bot_phase(mode: Mode, decision: Decision, health: Health) -> BotPhase:
    if mode is Mode.DELETE:
        return BotPhase.TERMINATING
    if mode is Mode.SUSPEND:
        return BotPhase.SUSPENDED
    if decision.outcome in (Outcome.FAILED, Outcome.ROLLING_BACK):
        return BotPhase.FAILED
    if decision.outcome is Outcome.STARTING:
        return BotPhase.STARTING if decision.startup.started else BotPhase.PENDING
    return BotPhase.RUNNING if health is Health.HEALTHY else BotPhase.DEGRADED


def build_status(
    name: str,
    generation: int,
    plans: list[ComponentPlan],
    observed: Observed,
    decision: Decision,
    health: Mapping[str, Assessment],
    recovery: RecoveryDecision,
    events: list[Event],
    previous: TradingBotStatus,
    config_status: ConfigStatus,
    mode: Mode,
    now: datetime,
) -> TradingBotStatus:
    old_rows = {c.name: c for c in previous.components}
    rows = []
    for plan in plans:
        deployment = observed.deployments.get(plan.name)
        pods = observed.pods_of(plan.name)
        verdict, assessment = decision.verdicts[plan.name], health[plan.name]
        generations = {
            p.config_generation for p in pods if p.config_generation is not None and not p.terminating
        }
        old = old_rows.get(plan.name)
        rows.append(
            ComponentStatus(
                name=plan.name,
                phase=plan.phase,
                state=verdict.state,
                ready=f"{sum(1 for p in pods if p.ready and not p.terminating)}/{deployment.replicas if deployment else plan.replicas}",
                health=assessment.health,
                reason=assessment.reason if assessment.health is not Health.UNKNOWN else verdict.reason,
                message=_row_message(verdict, assessment),
                root_cause=assessment.root_cause,
                restarts=sum(p.restarts for p in pods),
                config_generation=min(generations) if generations else None,
                ready_generation=decision.ready_generation.get(plan.name),
                last_recovery=recovery.last_recovery.get(plan.name, old.last_recovery if old else None),
                recent_restarts=recovery.recent_restarts.get(plan.name, []),
                safe_mode=plan.name in recovery.held,
            )
        )
    critical = [health[p.name].health for p in plans if p.critical and p.replicas > 0]
    bot_health = worst(critical) if critical else Health.UNKNOWN
    ready = sum(1 for r in rows if r.state is ComponentState.READY)
    phase = _bot_phase(mode, decision, bot_health)
    stamp = format_time(now)
    conditions = merge_conditions(
        previous.conditions,
        [
            *_condition_updates(mode, decision, rows, plans, health, bot_health, recovery),
            config_applied(rows, config_status.generation),
        ],
        generation,
        stamp,
    )
    alerts = [
        Alert(
            time=stamp,
            severity=e.severity or "warning",
            component=e.component or name,
            reason=e.reason,
            message=e.message,
        )
        for e in reversed(events)
        if e.type == "Warning" or e.severity
    ]
    return TradingBotStatus(
        phase=phase,
        startup_phase=(
            decision.current_phase.value
            if decision.current_phase
            else ("Complete" if decision.outcome is Outcome.COMPLETE else "")
        ),
        ready=f"{ready}/{len(plans)}",
        health=bot_health,
        observed_generation=generation,
        conditions=conditions,
        components=rows,
        startup=decision.startup,
        config=config_status,
        alerts=[*alerts, *previous.alerts][:MAX_ALERTS],
    )


def _condition_updates(
    mode: Mode,
    decision: Decision,
    rows: list[ComponentStatus],
    plans: list[ComponentPlan],
    health: Mapping[str, Assessment],
    bot_health: Health,
    recovery: RecoveryDecision,
) -> list[ConditionUpdate]:
    current = decision.current_phase
    waiting = [
        r for r in rows if r.state in (ComponentState.WAITING, ComponentState.STARTING) and r.phase == current
    ]
    outcome = decision.outcome
    if mode is not Mode.RUN:
        stopping = [r.name for r in rows if r.state is ComponentState.STOPPING]
        word = "Deleting" if mode is Mode.DELETE else "Suspending"
        done = outcome is Outcome.STOPPED
        ready = ConditionUpdate(
            "Ready",
            False,
            "Suspended" if mode is Mode.SUSPEND else "Terminating",
            "every component is stopped" if done else "stopping " + ", ".join(stopping),
        )
        progressing = ConditionUpdate(
            "Progressing",
            not done,
            word if not done else "Stopped",
            "" if done else "stopping in reverse phase order: " + ", ".join(stopping),
        )
    elif outcome in (Outcome.FAILED, Outcome.ROLLING_BACK):
        failed = ", ".join(decision.startup.failed_components)
        rolled = "; rolled back" if outcome is Outcome.FAILED and decision.startup.started else ""
        ready = ConditionUpdate("Ready", False, "StartupFailed", f"{failed} never became Ready{rolled}")
        progressing = ConditionUpdate(
            "Progressing",
            outcome is Outcome.ROLLING_BACK,
            "RollingBack" if outcome is Outcome.ROLLING_BACK else "StartupFailed",
            "scaling down what the attempt started, in reverse order"
            if outcome is Outcome.ROLLING_BACK
            else f"{failed} never became Ready",
        )
    elif outcome is Outcome.STARTING:
        phase = decision.current_phase.value if decision.current_phase else ""
        names = ", ".join(f"{r.name} ({r.reason})" for r in waiting)
        ready = ConditionUpdate("Ready", False, "StartupInProgress", f"starting phase {phase}")
        progressing = ConditionUpdate(
            "Progressing", True, "WaitingForPhase", f"phase {phase}: waiting for {names}"
        )
    else:
        unready = [p.name for p in plans if p.critical and health[p.name].health is Health.UNHEALTHY]
        ready = ConditionUpdate(
            "Ready",
            not unready,
            "AllComponentsReady" if not unready else "ComponentsNotReady",
            "" if not unready else "not ready: " + ", ".join(unready),
        )
        progressing = ConditionUpdate("Progressing", False, "StartupComplete", "every phase is Ready")
    troubled = [
        f"{p.name}: {health[p.name].reason}"
        + (f" (root cause {health[p.name].root_cause})" if health[p.name].root_cause else "")
        for p in plans
        if p.critical and health[p.name].health in (Health.DEGRADED, Health.UNHEALTHY)
    ]
    if recovery.exhausted:
        degraded = ConditionUpdate(
            "Degraded",
            True,
            "RecoveryBudgetExhausted",
            "recovery budget exhausted, not restarting: "
            + ", ".join(recovery.exhausted)
            + ("; " + "; ".join(troubled) if troubled else ""),
        )
    else:
        degraded = ConditionUpdate(
            "Degraded",
            bool(troubled),
            "ComponentsUnhealthy" if troubled else "AllHealthy",
            "; ".join(troubled),
        )
    return [ready, progressing, degraded, ConditionUpdate("ConfigValid", True, "Valid", "")]


def config_applied(rows: list[ComponentStatus], generation: int) -> ConditionUpdate:
    """True when every component that reports its config generation runs the current one."""
    reporting = [r for r in rows if r.config_generation is not None]
    if not reporting:
        return ConditionUpdate(
            "ConfigApplied", None, "NotReported", "no component has reported its config generation"
        )
    behind = [f"{r.name} ({r.config_generation})" for r in reporting if r.config_generation < generation]
    if behind:
        return ConditionUpdate(
            "ConfigApplied", False, "Applying", f"waiting for generation {generation}: " + ", ".join(behind)
        )
    return ConditionUpdate(
        "ConfigApplied", True, "Applied", f"reporting components run generation {generation}"
    )


def _row_message(verdict: ComponentVerdict, assessment: Assessment) -> str:
    """Health's message once health is known; before, the lifecycle's, with the pods' count and what holds
    them back while the component is starting."""
    if assessment.health is not Health.UNKNOWN:
        return assessment.message
    if verdict.state is ComponentState.STARTING and assessment.reason == "Starting" and assessment.message:
        return f"{verdict.message}: {assessment.message}"
    return verdict.message
