"""What `status`, `list` and `health` print: a summary line first, then sections, like `kubectl cnpg status`.

Pure functions of the bot as read and of `now`; the commands only fetch and print.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tradingbot_operator.api.status import ComponentStatus, Health, Recovery
from tradingbot_operator.plugin.errors import ExitCode
from tradingbot_operator.plugin.reading import BotView
from tradingbot_operator.plugin.tables import EMPTY, age, clip, render_table

MAX_ALERTS = 5
RECOVERY_WIDTH = 48
MESSAGE_WIDTH = 80

COMPONENT_HEADERS = (
    "NAME",
    "PHASE",
    "STATE",
    "READY",
    "HEALTH",
    "REASON",
    "ROOT-CAUSE",
    "RESTARTS",
    "CONFIG-GEN",
    "LAST-RECOVERY",
)


def summary_line(bot: BotView) -> str:
    """ "kraken-main: Running, Healthy, 8/8 ready, startup Complete"."""
    if not bot.reported:
        return f"{bot.name}: no status yet (the operator has not reported on this bot; is it running?)"
    s = bot.status
    return f"{bot.name}: {s.phase}, {s.health}, {s.ready} ready, startup {s.startup_phase or EMPTY}"


def last_recovery(recovery: Recovery | None, now: datetime) -> str:
    if recovery is None:
        return EMPTY
    return clip(f"{recovery.action} {age(recovery.time, now)} ago: {recovery.reason}", RECOVERY_WIDTH)


def _state(row: ComponentStatus) -> str:
    return f"{row.state} (safe mode)" if row.safe_mode else str(row.state)


def component_rows(components: Sequence[ComponentStatus], now: datetime) -> list[list[object]]:
    return [
        [
            row.name,
            row.phase,
            _state(row),
            row.ready,
            row.health,
            row.reason,
            row.root_cause,
            row.restarts,
            row.config_generation,
            last_recovery(row.last_recovery, now),
        ]
        for row in components
    ]


def _general(bot: BotView, now: datetime) -> list[str]:
    s = bot.status
    observed = s.observed_generation
    lines = [
        f"Namespace:   {bot.namespace}",
        f"Exchange:    {bot.mode}",
        f"Generation:  {bot.generation} (observed {observed if observed is not None else EMPTY})",
    ]
    if observed is not None and observed < bot.generation:
        lines.append(f"             the operator has not acted on generation {bot.generation} yet")
    if s.startup is not None:
        startup = s.startup
        if startup.completed_at:
            lines.append(f"Startup:     Complete {age(startup.completed_at, now)} ago")
        elif startup.failed:
            failed = ", ".join(startup.failed_components) or EMPTY
            lines.append(f"Startup:     Failed (retries exhausted: {failed})")
        elif startup.phase:
            lines.append(
                f"Startup:     phase {startup.phase} for {age(startup.phase_started_at, now)}, "
                f"retries {startup.retries}"
            )
    if bot.restart_request:
        lines.append(f"Restart:     requested for {bot.restart_request} (waiting for the operator)")
    if bot.deleting:
        lines.append(
            f"Deleting:    requested {age(bot.deleting, now)} ago; the operator stops it in reverse phase order"
        )
    lines.append(f"Age:         {age(bot.created, now)}")
    return lines


def render_status(bot: BotView, now: datetime) -> str:
    """The full human report: summary, general facts, conditions, components, problems, alerts."""
    out = [summary_line(bot), "", *_general(bot, now)]
    if not bot.reported:
        return "\n".join(out)
    s = bot.status
    out += ["", "Conditions:"]
    out.append(
        render_table(
            ("TYPE", "STATUS", "REASON", "MESSAGE", "AGE"),
            [
                [c.type, c.status, c.reason, clip(c.message, MESSAGE_WIDTH), age(c.last_transition_time, now)]
                for c in s.conditions
            ],
        )
        if s.conditions
        else "  none"
    )
    out += ["", "Components:"]
    out.append(
        render_table(COMPONENT_HEADERS, component_rows(s.components, now)) if s.components else "  none"
    )
    problems = [row for row in s.components if row.health is not Health.HEALTHY and row.message]
    if problems:
        out += ["", "Problems:"]
        out += [f"  {row.name}: {row.reason or row.health}: {row.message}" for row in problems]
    out += ["", "Config:"]
    if s.config is not None:
        out.append(f"  generation {s.config.generation}, hash {s.config.hash or EMPTY}")
    else:
        out.append("  not applied yet")
    out += ["", f"Recent alerts (newest first, {min(len(s.alerts), MAX_ALERTS)} of {len(s.alerts)}):"]
    out.append(
        render_table(
            ("AGE", "SEVERITY", "COMPONENT", "REASON", "MESSAGE"),
            [
                [age(a.time, now), a.severity, a.component, a.reason, clip(a.message, MESSAGE_WIDTH)]
                for a in s.alerts[:MAX_ALERTS]
            ],
        )
        if s.alerts
        else "  none"
    )
    return "\n".join(out)


def render_list(bots: Sequence[BotView], now: datetime, *, all_namespaces: bool) -> str:
    headers = ("NAME", "READY", "PHASE", "HEALTH", "STARTUP", "AGE")
    rows: list[list[object]] = []
    for bot in sorted(bots, key=lambda b: (b.namespace, b.name)):
        s = bot.status
        values: list[object] = (
            [bot.name, s.ready, s.phase, s.health, s.startup_phase, age(bot.created, now)]
            if bot.reported
            else [bot.name, EMPTY, EMPTY, EMPTY, EMPTY, age(bot.created, now)]
        )
        rows.append([bot.namespace, *values] if all_namespaces else values)
    return render_table(("NAMESPACE", *headers) if all_namespaces else headers, rows)


def health_exit_code(health: Health) -> ExitCode:
    if health is Health.HEALTHY:
        return ExitCode.OK
    if health is Health.UNHEALTHY:
        return ExitCode.UNHEALTHY
    return ExitCode.DEGRADED


def render_health(bot: BotView) -> str:
    """Bot health, then every component's health with the reason and the root cause behind it."""
    s = bot.status
    if not bot.reported:
        return f"{bot.name}: {Health.UNKNOWN} (the operator has not reported on this bot yet)"
    unwell = [row for row in s.components if row.health is not Health.HEALTHY]
    detail = (
        f"{len(unwell)} of {len(s.components)} components not healthy" if unwell else "all components healthy"
    )
    rows = [
        [row.name, row.health, row.reason, row.root_cause, clip(row.message, MESSAGE_WIDTH)]
        for row in s.components
    ]
    table = render_table(("COMPONENT", "HEALTH", "REASON", "ROOT-CAUSE", "MESSAGE"), rows)
    # The root causes: failing dependencies named by others, and Unhealthy components that name none.
    causes = sorted(
        {row.root_cause for row in unwell if row.root_cause}
        | {row.name for row in unwell if row.health is Health.UNHEALTHY and not row.root_cause}
    )
    out = [f"{bot.name}: {s.health} ({detail})"]
    if causes:
        out.append(f"root cause: {', '.join(causes)}")
    return "\n".join([*out, "", table])
