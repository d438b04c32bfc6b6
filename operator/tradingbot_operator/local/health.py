"""`--health-check` and `--diagnostics` for a local bot: ask the running one, or start it, report and stop.

The report is read with the plugin's own reader and rendered with its views, so a local bot's health and
status read exactly like `kubectl tradingbot health|status`, with the same exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradingbot_operator.api.status import Health
from tradingbot_operator.local.control import ControlClient, ControlUnreachable
from tradingbot_operator.local.document import LocalBot
from tradingbot_operator.local.session import BotSession
from tradingbot_operator.local.statedir import AlreadyRunning, StateDir
from tradingbot_operator.plugin.errors import ExitCode
from tradingbot_operator.plugin.reading import BotView, read_bot
from tradingbot_operator.plugin.views import health_exit_code, render_health
from tradingbot_operator.plugin.views import render_status as render_bot_status


def as_resource(report: Mapping[str, Any]) -> dict[str, Any]:
    """A local report in the shape of a TradingBot object, for the plugin's reader and views."""
    return {
        "metadata": {
            "name": report.get("name", ""),
            "namespace": report.get("namespace", "local"),
            "generation": report.get("generation", 0),
            "creationTimestamp": (report.get("status", {}).get("startup") or {}).get("phaseStartedAt"),
        },
        "spec": {"exchange": {"mode": report.get("mode", "paper")}},
        "status": report.get("status") or {},
    }


def view_of(report: Mapping[str, Any]) -> BotView:
    return read_bot(as_resource(report))


def render_status(report: Mapping[str, Any]) -> str:
    text = render_bot_status(view_of(report), datetime.now(UTC))
    if report.get("rejection"):
        text += f"\n\nConfig file rejected (the bot runs the last good version):\n  {report['rejection']}"
    return text


def health_json(report: Mapping[str, Any]) -> dict[str, Any]:
    bot = view_of(report)
    rows = [
        {
            "name": row.name,
            "health": str(row.health),
            "reason": row.reason,
            "rootCause": row.root_cause,
            "message": row.message,
            "restarts": row.restarts,
        }
        for row in bot.status.components
    ]
    return {
        "bot": bot.name,
        "health": str(bot.status.health if bot.reported else Health.UNKNOWN),
        "phase": str(bot.status.phase),
        "ready": bot.status.ready,
        "exitCode": int(health_exit_code(bot.status.health)),
        "components": rows,
    }


def print_health(report: Mapping[str, Any], output: str) -> int:
    bot = view_of(report)
    if output == "json":
        print(json.dumps(health_json(report), indent=2))
    else:
        print(render_health(bot))
    return int(health_exit_code(bot.status.health))


def unreachable(message: str, output: str) -> int:
    if output == "json":
        print(json.dumps({"health": "NotReachable", "exitCode": int(ExitCode.NOT_FOUND), "error": message}))
    print(f"error: {message}", file=sys.stderr)
    return int(ExitCode.NOT_FOUND)


async def one_shot(
    args: argparse.Namespace, state: StateDir, load: Callable[[argparse.Namespace], LocalBot | int]
) -> int:
    """Report on the running bot; with none running, start it, wait for startup, report and stop it."""
    if state.running():
        try:
            client = ControlClient(state)
            if args.health_check:
                return print_health(client.report(), args.output)
            from tradingbot_operator.local.diagnostics import collect_running

            return await collect_running(client, state, _zip_path(args, state.path.name))
        except ControlUnreachable as error:
            return unreachable(str(error), args.output)
    loaded = load(args)
    if isinstance(loaded, int):
        return unreachable(
            f"no bot {state.path.name!r} is running and {args.config} cannot be run", args.output
        )
    print(f"{loaded.name}: not running; starting it for a one-shot report", file=sys.stderr)
    try:
        async with BotSession(loaded, state, watch_file=False) as session:
            settled = await session.wait_started(args.timeout)
            if not settled:
                print(f"warning: startup did not finish within {args.timeout:g}s", file=sys.stderr)
            report = session.runner.report
            if args.health_check:
                return print_health(report, args.output)
            from tradingbot_operator.local.diagnostics import collect_session

            return await collect_session(session, _zip_path(args, loaded.name))
    except AlreadyRunning as error:
        return unreachable(str(error), args.output)


def _zip_path(args: argparse.Namespace, bot: str) -> Path:
    if args.diagnostics:
        return Path(args.diagnostics)
    return Path(f"tradingbot-local-{bot}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.zip")
