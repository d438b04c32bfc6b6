"""Prometheus metrics the operator serves on /metrics: health, recovery, reconcile and startup timings."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

HEALTH_VALUES = ("Healthy", "Degraded", "Unhealthy", "Unknown")


class OperatorMetrics:
    """One registry per operator process (never the global default, so tests can make many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.component_health = Gauge(
            "tradingbot_component_health",
            "1 for the component's current health, 0 for the others",
            ["namespace", "bot", "component", "health"],
            registry=self.registry,
        )
        self.bot_ready = Gauge(
            "tradingbot_bot_ready",
            "1 when the bot's Ready condition is True",
            ["namespace", "bot"],
            registry=self.registry,
        )
        self.recovery_actions = Counter(
            "tradingbot_recovery_actions_total",
            "Recovery actions taken",
            ["namespace", "bot", "component", "action"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "tradingbot_alerts_total",
            "Alerts raised",
            ["namespace", "bot", "severity", "reason"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "tradingbot_reconcile_duration_seconds",
            "Time of one reconcile (observe, plan, apply, report)",
            ["outcome"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.phase_duration = Histogram(
            "tradingbot_startup_phase_duration_seconds",
            "Time from a startup phase's start until the next began",
            ["phase"],
            registry=self.registry,
            buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.apply_writes = Counter(
            "tradingbot_apply_writes_total", "Objects created or patched", registry=self.registry
        )

    def serve(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        start_http_server(int(port), addr=host or "0.0.0.0", registry=self.registry)

    def record_status(self, namespace: str, bot: str, status: Mapping[str, Any]) -> None:
        for row in status.get("components", []):
            for value in HEALTH_VALUES:
                self.component_health.labels(namespace, bot, row["name"], value).set(
                    1.0 if row.get("health") == value else 0.0
                )
        ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
        self.bot_ready.labels(namespace, bot).set(1.0 if ready.get("status") == "True" else 0.0)

    def forget(self, namespace: str, bot: str, components: list[str]) -> None:
        for name in components:
            for value in HEALTH_VALUES:
                with contextlib.suppress(KeyError):
                    self.component_health.remove(namespace, bot, name, value)
