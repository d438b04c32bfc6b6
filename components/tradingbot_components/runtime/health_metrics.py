"""Prometheus metrics of the health monitor, on a registry the caller owns (never the global default,
so a process, or a test, can have as many monitors as it likes).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from tradingbot_components.runtime.health_status import Alert, HealthStatus


class HealthMetrics:
    """`<namespace>_component_status{component,status}` is 1 for the current status and 0 for the others
    (a state set, so alerts read `== 1`); recovery attempts and alerts are counters."""

    def __init__(self, registry: CollectorRegistry, namespace: str = "tradingbot") -> None:
        self.status = Gauge(
            "component_status",
            "Health status of a component after cascading: 1 for the current status, 0 otherwise",
            ["component", "status"],
            namespace=namespace,
            registry=registry,
        )
        self.recovery_attempts = Counter(
            "recovery_attempts",
            "Recovery handler calls, by component and outcome (ok: returned, error: raised)",
            ["component", "outcome"],
            namespace=namespace,
            registry=registry,
        )
        self.alerts = Counter(
            "alerts",
            "Alerts raised by the health monitor",
            ["component", "severity", "reason"],
            namespace=namespace,
            registry=registry,
        )

    def set_status(self, component: str, status: HealthStatus) -> None:
        for candidate in HealthStatus:
            self.status.labels(component=component, status=str(candidate)).set(
                1 if candidate is status else 0
            )

    def count_recovery(self, component: str, *, ok: bool) -> None:
        self.recovery_attempts.labels(component=component, outcome="ok" if ok else "error").inc()

    def count_alert(self, alert: Alert) -> None:
        self.alerts.labels(
            component=alert.component, severity=str(alert.severity), reason=str(alert.reason)
        ).inc()
