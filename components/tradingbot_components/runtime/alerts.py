"""Alerts of the health monitor: a bounded newest-first log, a metric, and callbacks to notify people.

Callbacks may be sync or async; a failing callback is logged and never stops the monitor.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from tradingbot_components.runtime.health_metrics import HealthMetrics
from tradingbot_components.runtime.health_status import (
    Alert,
    AlertReason,
    AlertSeverity,
    ComponentHealth,
    HealthStatus,
)
from tradingbot_components.runtime.invocation import describe_error

AlertCallback = Callable[[Alert], Any]
log = logging.getLogger(__name__)


def alert_for_change(
    view: ComponentHealth, before: HealthStatus
) -> tuple[AlertSeverity, AlertReason, str] | None:
    """The alert (if any) for a component whose status just changed from `before` to `view.status`."""
    because = f" ({view.message})" if view.message else ""
    if view.status is HealthStatus.UNHEALTHY:
        severity = AlertSeverity.CRITICAL if view.critical else AlertSeverity.WARNING
        return severity, AlertReason.UNHEALTHY, f"{view.name} is unhealthy{because}"
    if view.status is HealthStatus.DEGRADED:
        cause = f" because {view.root_cause} is unhealthy" if view.root_cause else because
        return AlertSeverity.WARNING, AlertReason.DEGRADED, f"{view.name} is degraded{cause}"
    if view.status is HealthStatus.HEALTHY and before in (HealthStatus.UNHEALTHY, HealthStatus.DEGRADED):
        return AlertSeverity.INFO, AlertReason.RECOVERED, f"{view.name} is healthy again"
    return None


class AlertLog:
    def __init__(self, metrics: HealthMetrics, now: Callable[[], float], capacity: int = 100) -> None:
        self._metrics = metrics
        self._now = now
        self._alerts: deque[Alert] = deque(maxlen=capacity)
        self._callbacks: list[AlertCallback] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def subscribe(self, callback: AlertCallback) -> None:
        self._callbacks.append(callback)

    def recent(self, limit: int | None = None) -> list[Alert]:
        """Newest first."""
        alerts = list(self._alerts)
        return alerts if limit is None else alerts[:limit]

    def emit(self, severity: AlertSeverity, reason: AlertReason, message: str, *, component: str) -> Alert:
        alert = Alert(self._now(), severity, component, reason, message)
        self._alerts.appendleft(alert)
        self._metrics.count_alert(alert)
        log.log(logging.INFO if severity is AlertSeverity.INFO else logging.WARNING, "alert: %s", message)
        for callback in self._callbacks:
            self._notify(callback, alert)
        return alert

    def on_change(self, view: ComponentHealth, before: HealthStatus) -> None:
        decided = alert_for_change(view, before)
        if decided is not None:
            self.emit(*decided, component=view.name)

    def _notify(self, callback: AlertCallback, alert: Alert) -> None:
        try:
            result = callback(alert)
        except Exception as exc:
            log.warning("alert callback %r failed: %s", callback, describe_error(exc))
            return
        if not inspect.isawaitable(result):
            return
        try:
            task = asyncio.ensure_future(result)
        except RuntimeError:  # no running loop: an async callback cannot run from here
            if inspect.iscoroutine(result):
                result.close()
            log.warning("alert callback %r is async but no event loop is running; skipped", callback)
            return
        self._tasks.add(task)  # keep a reference until it finishes
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning("alert callback failed: %s", describe_error(error))
