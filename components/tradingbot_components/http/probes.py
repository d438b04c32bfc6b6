"""The routes every component serves: `/livez`, `/readyz`, `/healthz`, `/metrics` and `/config`.

`decide_readiness` is a pure function of what the process knows; the handlers only gather and render.
"""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from tradingbot_components.config.manager import ConfigManager
from tradingbot_components.http.heartbeat import LoopHeartbeat
from tradingbot_components.runtime import ComponentHealth, HealthMonitor, HealthStatus, StartupSequence


class Lifecycle(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


class NotReady(enum.StrEnum):
    """Why `/readyz` says 503."""

    STARTING = "Starting"
    STOPPING = "Stopping"
    STARTUP_FAILED = "StartupFailed"
    CONFIG_NOT_LOADED = "ConfigNotLoaded"
    CONFIG_REJECTED = "ConfigRejected"
    UNHEALTHY = "Unhealthy"


@dataclass(frozen=True)
class Readiness:
    reasons: tuple[tuple[NotReady, str], ...] = ()

    @property
    def ready(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "reasons": [{"reason": str(reason), "message": message} for reason, message in self.reasons],
        }

    def summary(self) -> str | None:
        """None when ready; else the reasons on one bounded line (what the Pod annotation and status show)."""
        return summarize_not_ready(self.to_dict())


def summarize_not_ready(body: Mapping[str, Any], limit: int = 300) -> str | None:
    """A `/readyz` answer (see `Readiness.to_dict`) as one line, None when ready: what the operator and the
    local runner show as the reason a component is not ready."""
    reasons = body.get("reasons") or []
    if body.get("ready") or not reasons:
        return None
    line = " ".join("; ".join(f"{r.get('reason')}: {r.get('message')}" for r in reasons).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def decide_readiness(
    lifecycle: Lifecycle,
    *,
    config_loaded: bool,
    config_error: str | None,
    components: Mapping[str, ComponentHealth],
) -> Readiness:
    """Ready = started, not stopping, a valid config in force, and every critical check passing
    (healthy or degraded; unknown counts as not passing). `config_error` is set while the latest
    document is rejected."""
    reasons: list[tuple[NotReady, str]] = []
    if lifecycle is Lifecycle.STARTING:
        reasons.append((NotReady.STARTING, "startup has not finished"))
    elif lifecycle is Lifecycle.STOPPING:
        reasons.append((NotReady.STOPPING, "shutting down"))
    elif lifecycle is Lifecycle.FAILED:
        reasons.append((NotReady.STARTUP_FAILED, "startup failed"))
    if not config_loaded:
        reasons.append((NotReady.CONFIG_NOT_LOADED, "no config document loaded yet"))
    if config_error is not None:
        reasons.append((NotReady.CONFIG_REJECTED, config_error))
    for name, view in components.items():
        if view.critical and view.status in (HealthStatus.UNHEALTHY, HealthStatus.UNKNOWN):
            cause = f" (root cause: {view.root_cause})" if view.root_cause else ""
            detail = f": {view.message}" if view.message else ""
            reasons.append((NotReady.UNHEALTHY, f"{name} is {view.status}{cause}{detail}"))
    return Readiness(tuple(reasons))


class ProbeRoutes:
    """Renders the state of one component process; `add_to(app)` registers the routes."""

    def __init__(
        self,
        *,
        component: str,
        config: ConfigManager,
        monitor: HealthMonitor,
        sequence: StartupSequence,
        registry: CollectorRegistry,
        heartbeat: LoopHeartbeat,
        lifecycle: Callable[[], Lifecycle],
        extra_status: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.component = component
        self.config, self.monitor, self.sequence = config, monitor, sequence
        self.registry, self.heartbeat = registry, heartbeat
        self.lifecycle = lifecycle
        self.extra_status = extra_status or dict
        self.started_at = time.time()

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/livez", self.livez)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/config", self.config_view)

    def readiness(self) -> Readiness:
        error = self.config.last_error
        rejected = None
        if not self.config.valid and error is not None:
            rejected = "latest config rejected: " + "; ".join(str(e) for e in error.errors)
        return decide_readiness(
            self.lifecycle(),
            config_loaded=self.config.loaded,
            config_error=rejected,
            components=self.monitor.components(),
        )

    async def livez(self, request: web.Request) -> web.Response:
        age = round(self.heartbeat.age, 3)
        if self.heartbeat.stale():
            return web.json_response(
                {"live": False, "reason": f"event loop heartbeat is {age}s old"}, status=503
            )
        return web.json_response({"live": True, "heartbeat_age": age})

    async def readyz(self, request: web.Request) -> web.Response:
        readiness = self.readiness()
        return web.json_response(readiness.to_dict(), status=200 if readiness.ready else 503)

    async def healthz(self, request: web.Request) -> web.Response:
        body = self.health_document()
        unhealthy = HealthStatus(body["status"]) is HealthStatus.UNHEALTHY
        return web.json_response(body, status=503 if unhealthy else 200)

    def health_document(self, *, alerts: int = 20) -> dict[str, Any]:
        """What `/healthz` answers (and `/debug` builds on)."""
        health = self.monitor.snapshot(alerts=alerts)
        readiness = self.readiness()
        return {
            "component": self.component,
            "status": health["status"],
            "ready": readiness.to_dict(),
            "lifecycle": str(self.lifecycle()),
            "pid": os.getpid(),
            "uptime": round(time.time() - self.started_at, 3),
            "health": health,
            "config": self.config.status(),
            "startup": self.sequence.snapshot(),
            **self.extra_status(),
        }

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def config_view(self, request: web.Request) -> web.Response:
        return web.json_response(self.config.export())
