"""Where a local bot's events go: the console (readable lines), `events.log`, `alerts.jsonl` and an optional
webhook — the local counterparts of Kubernetes Events, `status.alerts` and the operator's alert webhook.

An event is an alert on the same rule the status report uses: every Warning, and anything with a severity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tradingbot_operator.planner.lifecycle import Event
from tradingbot_operator.planner.timefmt import format_time


@dataclass(frozen=True)
class LocalEvent:
    time: str
    type: str
    reason: str
    message: str
    component: str | None = None
    severity: str | None = None

    @property
    def alert(self) -> bool:
        return self.type == "Warning" or self.severity is not None

    def to_alert(self, bot: str) -> dict[str, Any]:
        return {
            "time": self.time,
            "severity": self.severity or "warning",
            "component": self.component or bot,
            "reason": self.reason,
            "message": self.message,
        }

    def line(self) -> str:
        clock = self.time[11:19] if len(self.time) >= 19 else self.time
        return f"{clock}  {self.type:<7}  {self.reason:<24} {self.message}"


def local_event(event: Event, now: datetime) -> LocalEvent:
    return LocalEvent(
        format_time(now), event.type, event.reason, event.message, event.component, event.severity
    )


class EventSink:
    """Appends every event to `events.log` and every alert to `alerts.jsonl`, then tells the listeners."""

    def __init__(self, bot: str, events_file: Path, alerts_file: Path) -> None:
        self.bot = bot
        self.events_file, self.alerts_file = events_file, alerts_file
        self.listeners: list[Callable[[LocalEvent], None]] = []
        self.alert_listeners: list[Callable[[dict[str, Any]], None]] = []

    def emit(self, event: LocalEvent) -> None:
        with self.events_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{event.time} {event.type} {event.reason} {event.message}\n")
        if event.alert:
            alert = event.to_alert(self.bot)
            with self.alerts_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(alert) + "\n")
            for alert_listener in self.alert_listeners:
                alert_listener({"bot": self.bot, **alert})
        for listener in self.listeners:
            listener(event)


def read_alerts(path: Path, limit: int = 50) -> list[dict[str, Any]]:
    """The newest `limit` alerts of `alerts.jsonl`, newest first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    alerts = []
    for line in reversed(lines[-limit:]):
        try:
            alerts.append(json.loads(line))
        except ValueError:
            continue
    return alerts
