"""Per-process operator state: the API facade, wake-up signals per bot, and what was last applied/written.

The operator is the single writer of every TradingBot's status and of its children, so remembering what it
wrote is sound; it lets a reconcile skip unchanged objects without reading them back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tradingbot_operator.reconciler.alerting import WebhookSink
from tradingbot_operator.reconciler.kube import Kube
from tradingbot_operator.reconciler.metrics import OperatorMetrics

BotKey = tuple[str, str]  # (namespace, name)


@dataclass
class OperatorContext:
    kube: Kube
    image: str
    wakeups: dict[BotKey, asyncio.Event] = field(default_factory=dict)
    applied: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, ns, name) -> applied hash
    statuses: dict[BotKey, dict[str, Any]] = field(default_factory=dict)  # last status written per bot
    credentials: set[tuple[str, str]] = field(default_factory=set)  # (ns, secret) known to exist
    apply_errors: dict[BotKey, str] = field(default_factory=dict)  # last apply failure, announced once
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    webhook: WebhookSink | None = None
    # Startup phase of each bot and when (monotonic) it began, for the phase-duration metric.
    phase_started: dict[BotKey, tuple[str, float]] = field(default_factory=dict)
    # Per bot: each pod seen Ready -> its container restarts then (health, recovery).
    seen_ready: dict[BotKey, dict[str, int]] = field(default_factory=dict)

    def wakeup(self, key: BotKey) -> asyncio.Event:
        return self.wakeups.setdefault(key, asyncio.Event())

    def wake(self, namespace: str, name: str | None) -> None:
        if name:
            self.wakeup((namespace, name)).set()

    def forget(self, key: BotKey) -> None:
        """Drop caches for a bot so the next reconcile re-applies and re-checks everything (drift repair)."""
        namespace, name = key
        self.applied = {
            k: v for k, v in self.applied.items() if not (k[1] == namespace and k[2].startswith(name))
        }
        self.credentials = {c for c in self.credentials if c[0] != namespace}

    def drop(self, key: BotKey) -> None:
        self.forget(key)
        status = self.statuses.pop(key, None) or {}
        self.metrics.forget(*key, [c["name"] for c in status.get("components", [])])
        self.wakeups.pop(key, None)
        self.apply_errors.pop(key, None)
        self.phase_started.pop(key, None)
        self.seen_ready.pop(key, None)
