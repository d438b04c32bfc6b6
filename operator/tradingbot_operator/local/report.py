"""What a local bot reports: the planner's status (with a rejected config file said in ConfigValid) and
where each component runs. `status.json`, the control API and the dashboard all show this report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradingbot_operator.api.status import TradingBotStatus
from tradingbot_operator.planner.conditions import ConditionUpdate, merge_conditions
from tradingbot_operator.planner.timefmt import format_time

if TYPE_CHECKING:
    from tradingbot_operator.local.runner import LocalRunner


def with_rejection(
    status: Mapping[str, Any],
    previous: Mapping[str, Any],
    rejection: str | None,
    generation: int,
    now: datetime,
) -> dict[str, Any]:
    """While the file's newest version is rejected, ConfigValid says so (the planner runs the last good one)."""
    if rejection is None:
        return dict(status)
    typed = TradingBotStatus.model_validate(status)
    others = [c for c in typed.conditions if c.type != "ConfigValid"]
    updates = [
        ConditionUpdate(c.type, {"True": True, "False": False}.get(c.status), c.reason, c.message)
        for c in others
    ]
    updates.append(ConditionUpdate("ConfigValid", False, "InvalidConfigFile", rejection))
    before = TradingBotStatus.model_validate(previous or {}).conditions
    conditions = merge_conditions(before, updates, generation, format_time(now))
    return typed.model_copy(update={"conditions": conditions}).model_dump(
        by_alias=True, mode="json", exclude_none=True
    )


def runner_report(runner: LocalRunner) -> dict[str, Any]:
    pods: dict[str, Any] = {}
    for name, workload in runner.workloads.items():
        current = workload.current()
        pod = current[0] if current else None
        pods[name] = {
            "port": runner.ports.get(name),
            "url": f"http://127.0.0.1:{runner.ports[name]}" if name in runner.ports else None,
            "pid": pod.pid if pod else None,
            "started_at": format_time(datetime.fromtimestamp(pod.started_at, UTC))
            if pod and pod.started_at
            else None,
            "log": str(runner.state.log_file(name)),
            "last_exit_code": pod.last_exit_code if pod else None,
        }
    return {
        "name": runner.bot.name,
        "namespace": "local",
        "mode": runner.bot.mode.value,
        "generation": runner.generation,
        "configFile": str(runner.bot.source),
        "stateDir": str(runner.state.path),
        "suspended": runner.suspended,
        "rejection": runner.rejection,
        "restartRequest": runner.restart_request,
        "updated": format_time(datetime.now(UTC)),
        "components": pods,
        "status": runner.status,
    }
