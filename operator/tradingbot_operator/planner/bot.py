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
    ConfigStatus,
    TradingBotStatus,
)
from tradingbot_operator.api.types import ExchangeMode, TradingBotSpec
from tradingbot_operator.planner import desired
from tradingbot_operator.planner.catalog import ComponentPlan, resolve_components
from tradingbot_operator.planner.conditions import ConditionUpdate, merge_conditions
from tradingbot_operator.planner.config import digest, effective_config, public_document, restart_hash
from tradingbot_operator.planner.graph import Graph, SpecProblem, dependency_graph, startup_order, validate
from tradingbot_operator.planner.health import Assessment, assess, health_events, resuming_from_safe_mode
from tradingbot_operator.planner.lifecycle import Decision, Event, Memory, Mode, Outcome, decide
from tradingbot_operator.planner.observed import Observed
from tradingbot_operator.planner.recovery import RecoveryAction, plan_recovery
from tradingbot_operator.planner.report import build_status
from tradingbot_operator.planner.timefmt import format_precise, format_time

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
    restart_request: str | None = None  # value of the tradingbot.dev/restart annotation


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
    recovery_actions: list[RecoveryAction] = field(default_factory=list)
    clear_restart_request: bool = False  # the manual restart annotation was carried out
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


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a Kubernetes field path: ('components', 0, 'replicas') ->
    spec.components[0].replicas, the form the API server and the graph checks use."""
    path = "spec"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _problems_from(error: ValidationError) -> list[SpecProblem]:
    return [SpecProblem(field_path(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]


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


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that validated, with its components in startup order and their dependency graph."""

    spec: TradingBotSpec
    plans: list[ComponentPlan]
    graph: Graph


def check_spec(raw: Mapping[str, Any], operator_image: str) -> CheckedSpec | list[SpecProblem]:
    """Validate a spec as `plan_bot` does (schema, then the graph checks); the problems carry field paths.

    Both shells use it: the operator through `plan_bot`, the local runner also before it starts anything.
    """
    try:
        spec = TradingBotSpec.model_validate(raw)
    except ValidationError as error:
        return _problems_from(error)
    plans = resolve_components(spec, operator_image)
    problems = validate(plans)
    if problems:
        return problems
    graph = dependency_graph(plans)
    order = startup_order(plans, graph)
    return CheckedSpec(spec, sorted(plans, key=lambda p: order.index(p.name)), graph)


def plan_bot(bot: BotInput, observed: Observed, operator_image: str, now: datetime) -> Plan:
    previous = _previous_status(bot.status)
    checked = check_spec(bot.spec, operator_image)
    if not isinstance(checked, CheckedSpec):
        return _invalid(bot, previous, checked, now)
    spec, plans, graph = checked.spec, checked.plans, checked.graph
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
    previous_rows = {c.name: c for c in previous.components}
    held = frozenset(c.name for c in previous.components if c.safe_mode) if mode is Mode.RUN else frozenset()
    restart_counts = {c.name: c.restarts for c in previous.components}
    reasons = {c.name: c.reason for c in previous.components if c.reason} if mode is Mode.RUN else {}

    def evaluate(hold: frozenset[str]) -> tuple[Decision, dict[str, Assessment]]:
        decided = decide(plans, graph, observed, memory, spec.startup, mode, bot.generation, now, hold)
        complete = decided.startup.completed_at is not None
        resuming = resuming_from_safe_mode(reasons, hold)
        return decided, assess(
            plans, graph, observed, decided.verdicts, restart_counts, complete, hold, resuming
        )

    decision, health = evaluate(held)
    recovery = plan_recovery(
        plans,
        health,
        observed,
        previous_rows,
        startup_complete=mode is Mode.RUN and decision.outcome is Outcome.COMPLETE,
        safe_mode=spec.recovery.safe_mode,
        restart_request=bot.restart_request,
        ready_generation=decision.ready_generation,
        now=now,
    )
    if recovery.held != held:
        decision, health = evaluate(recovery.held)
    restarts = decision.restarts | recovery.restarts
    events = [*decision.events, *recovery.events]
    if mode is Mode.RUN:
        events += health_events(plans, health, {c.name: c.health for c in previous.components})

    objects = [
        desired.config_map(identity, document, config_status.generation),
        *desired.component_rbac(identity),
        desired.network_policy(identity),
    ]
    objects += [desired.service(identity, p) for p in plans if p.serves]
    objects += [c for c in (desired.data_claim(identity, p, spec.storage) for p in plans) if c is not None]
    # A restart must change the pod template even when two restarts fall in the same second.
    stamp = format_precise(now)
    for plan in plans:
        if plan.name not in decision.replicas:
            continue
        current = observed.deployments.get(plan.name)
        restarted_at = stamp if plan.name in restarts else (current.restarted_at if current else None)
        attempt = decision.startup.generation if plan.name in decision.startup.started else None
        objects.append(
            desired.deployment(
                identity,
                plan,
                decision.replicas[plan.name],
                restart_hash(document, plan.name, plan.builtin),
                restarted_at,
                spec.startup.phase_timeout_seconds,
                started_by=attempt or (current.started_by if current else None),
                storage=spec.storage,
            )
        )
    known = {p.name for p in plans}
    prune = sorted(name for name in observed.deployments if name not in known)

    status = build_status(
        bot.name,
        bot.generation,
        plans,
        observed,
        decision,
        health,
        recovery,
        events,
        previous,
        config_status,
        mode,
        now,
    )
    return Plan(
        objects=objects,
        prune=prune,
        restarts=restarts,
        status=_dump(status),
        events=events,
        requeue_after=_earliest(decision.requeue_after, recovery.requeue_after),
        recovery_actions=list(recovery.actions),
        clear_restart_request=recovery.clear_request,
        finished_teardown=mode is Mode.DELETE and decision.outcome is Outcome.STOPPED,
        credentials_secret=secret,
    )


def _earliest(*delays: float | None) -> float | None:
    present = [d for d in delays if d is not None]
    return min(present) if present else None
