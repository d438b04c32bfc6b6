"""The planner's front door: one TradingBot plus what was observed, in; everything to do and say, out.

`plan_bot` is pure (the clock is an argument). The reconciler applies `Plan.objects`, deletes
`Plan.prune`, restarts `Plan.restarts`, posts `Plan.events` and writes `Plan.status` when it differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tradingbot_operator.api.status import (
    Alert,
    BotPhase,
    ComponentState,
    ComponentStatus,
    ConfigStatus,
    Health,
    TradingBotStatus,
)
from tradingbot_operator.api.types import ExchangeMode, TradingBotSpec
from tradingbot_operator.planner import desired
from tradingbot_operator.planner.catalog import ComponentPlan, resolve_components
from tradingbot_operator.planner.conditions import ConditionUpdate, merge_conditions
from tradingbot_operator.planner.config import digest, effective_config, public_document, restart_hash
from tradingbot_operator.planner.graph import SpecProblem, dependency_graph, startup_order, validate
from tradingbot_operator.planner.health import Assessment, assess, worst
from tradingbot_operator.planner.lifecycle import Decision, Event, Memory, Mode, Outcome, decide
from tradingbot_operator.planner.observed import Observed
from tradingbot_operator.planner.timefmt import format_time

MAX_ALERTS = 20


@dataclass(frozen=True)
class BotInput:
    """The TradingBot as read from the API."""

    name: str
    namespace: str
    generation: int
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    deleting: bool = False
    uid: str = ""


@dataclass(frozen=True)
class Plan:
    objects: list[dict[str, Any]] = field(default_factory=list)  # apply these (create or patch)
    prune: list[str] = field(default_factory=list)  # Deployments of components no longer in the spec
    restarts: frozenset[str] = frozenset()
    status: dict[str, Any] = field(default_factory=dict)  # the full new status (camelCase)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    valid: bool = True
    finished_teardown: bool = False  # delete: every component is gone, the finalizer may go
    credentials_secret: str | None = None  # the Secret the bot needs (paper: made by the operator)


def paper_credentials_secret(bot: str) -> str:
    return f"{bot}-paper-credentials"


def credentials_secret(bot: str, spec: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The Secret the bot needs and whether the operator makes it (paper mode); (None, False) if unknowable."""
    exchange = spec.get("exchange") or {}
    if exchange.get("mode", ExchangeMode.PAPER.value) == ExchangeMode.PAPER.value:
        return paper_credentials_secret(bot), True
    return exchange.get("credentialsSecret"), False


def _previous_status(raw: Mapping[str, Any]) -> TradingBotStatus:
    try:
        return TradingBotStatus.model_validate(raw or {})
    except ValidationError:
        return TradingBotStatus()  # unreadable (older operator?): start the bookkeeping afresh


def _problems_from(error: ValidationError) -> list[SpecProblem]:
    return [
        SpecProblem("spec." + ".".join(str(p) for p in e["loc"]), e["msg"])
        for e in error.errors(include_url=False)
    ]


def _invalid(bot: BotInput, previous: TradingBotStatus, problems: list[SpecProblem], now: datetime) -> Plan:
    message = "; ".join(map(str, problems))
    conditions = [c for c in previous.conditions if c.type != "ConfigValid"]
    updates = [
        ConditionUpdate(c.type, {"True": True, "False": False}.get(c.status), c.reason, c.message)
        for c in conditions
    ]
    updates.append(ConditionUpdate("ConfigValid", False, "InvalidSpec", message))
    status = previous.model_copy(
        update={
            "conditions": merge_conditions(previous.conditions, updates, bot.generation, format_time(now)),
        }
    )
    events = []
    old = next((c for c in previous.conditions if c.type == "ConfigValid"), None)
    if old is None or old.status != "False" or old.message != message:
        events.append(Event("Warning", "InvalidSpec", message))
    return Plan(status=_dump(status), events=events, valid=False)


def _dump(status: TradingBotStatus) -> dict[str, Any]:
    return status.model_dump(by_alias=True, mode="json", exclude_none=True)


def plan_bot(bot: BotInput, observed: Observed, operator_image: str, now: datetime) -> Plan:
    previous = _previous_status(bot.status)
    try:
        spec = TradingBotSpec.model_validate(bot.spec)
    except ValidationError as error:
        return _invalid(bot, previous, _problems_from(error), now)
    plans = resolve_components(spec, operator_image)
    problems = validate(plans)
    if problems:
        return _invalid(bot, previous, problems, now)

    graph = dependency_graph(plans)
    order = startup_order(plans, graph)
    plans = sorted(plans, key=lambda p: order.index(p.name))
    secret = (
        spec.exchange.credentials_secret
        if spec.exchange.mode == ExchangeMode.LIVE
        else paper_credentials_secret(bot.name)
    )
    identity = desired.BotIdentity(bot.name, bot.namespace, spec.exchange.mode, secret, bot.uid)

    config = effective_config(spec, bot.spec.get("config") or {}, bot.name, bot.namespace)
    document = public_document(config)
    config_hash = digest(document)
    old_config = previous.config or ConfigStatus()
    config_status = ConfigStatus(
        generation=old_config.generation + (1 if old_config.hash != config_hash else 0), hash=config_hash
    )

    mode = Mode.DELETE if bot.deleting else (Mode.SUSPEND if spec.suspend else Mode.RUN)
    memory = Memory(
        startup=previous.startup,
        ready_generation={c.name: c.ready_generation for c in previous.components if c.ready_generation},
    )
    decision = decide(plans, graph, observed, memory, spec.startup, mode, bot.generation, now)

    objects = [
        desired.config_map(identity, document, config_status.generation),
        *desired.component_rbac(identity),
        desired.network_policy(identity),
    ]
    objects += [desired.service(identity, p) for p in plans if p.serves]
    stamp = format_time(now)
    for plan in plans:
        if plan.name not in decision.replicas:
            continue
        current = observed.deployments.get(plan.name)
        restarted_at = (
            stamp if plan.name in decision.restarts else (current.restarted_at if current else None)
        )
        objects.append(
            desired.deployment(
                identity,
                plan,
                decision.replicas[plan.name],
                restart_hash(document, plan.name, plan.builtin),
                restarted_at,
                spec.startup.phase_timeout_seconds,
            )
        )
    known = {p.name for p in plans}
    prune = sorted(name for name in observed.deployments if name not in known)

    health = assess(
        plans, graph, observed, decision.verdicts, {c.name: c.restarts for c in previous.components}
    )
    status = _status(bot, spec, plans, observed, decision, health, previous, config_status, mode, now)
    return Plan(
        objects=objects,
        prune=prune,
        restarts=decision.restarts,
        status=_dump(status),
        events=decision.events,
        requeue_after=decision.requeue_after,
        finished_teardown=mode is Mode.DELETE and decision.outcome is Outcome.STOPPED,
        credentials_secret=secret,
    )


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


def _status(
    bot: BotInput,
    spec: TradingBotSpec,
    plans: list[ComponentPlan],
    observed: Observed,
    decision: Decision,
    health: Mapping[str, Assessment],
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
                message=assessment.message if assessment.health is not Health.UNKNOWN else verdict.message,
                root_cause=assessment.root_cause,
                restarts=sum(p.restarts for p in pods),
                config_generation=min(generations) if generations else None,
                ready_generation=decision.ready_generation.get(plan.name),
                last_recovery=old.last_recovery if old else None,
            )
        )
    critical = [health[p.name].health for p in plans if p.critical and p.replicas > 0]
    bot_health = worst(critical) if critical else Health.UNKNOWN
    ready = sum(1 for r in rows if r.state is ComponentState.READY)
    phase = _bot_phase(mode, decision, bot_health)
    stamp = format_time(now)
    conditions = merge_conditions(
        previous.conditions,
        _condition_updates(mode, decision, rows, plans, health, bot_health),
        bot.generation,
        stamp,
    )
    alerts = [
        Alert(time=stamp, severity="warning", component=bot.name, reason=e.reason, message=e.message)
        for e in reversed(decision.events)
        if e.type == "Warning"
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
        observed_generation=bot.generation,
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
    degraded = ConditionUpdate(
        "Degraded", bool(troubled), "ComponentsUnhealthy" if troubled else "AllHealthy", "; ".join(troubled)
    )
    return [ready, progressing, degraded, ConditionUpdate("ConfigValid", True, "Valid", "")]
