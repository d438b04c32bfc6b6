"""`/debug`: everything `/healthz` says plus what a person debugging the process needs (the effective config,
all recent alerts, recoveries, the asyncio tasks, the DI registrations, the log level, versions).

It answers only while `system.debug` is on (a hot field); otherwise 403 saying how to turn it on. Nothing here
may carry a secret: the config is the redacted export, tasks are shown by name and coroutine only, and the
environment only by the names of the variables that override config fields.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import platform
from typing import Any

from aiohttp import web

from tradingbot_components.config.logs import current_level
from tradingbot_components.http.probes import ProbeRoutes
from tradingbot_components.runtime import Container

PACKAGES = ("tradingbot-operator", "aiohttp", "pydantic", "prometheus-client", "websockets")
OFF = (
    "/debug answers only while system.debug is true; it is a hot field: set it in the config file or "
    "ConfigMap (or with update_config) and no restart is needed"
)


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def tasks() -> list[dict[str, Any]]:
    """The running asyncio tasks: name, coroutine, done (never their locals or arguments)."""
    shown = []
    for task in asyncio.all_tasks():
        coroutine = task.get_coro()
        shown.append(
            {
                "name": task.get_name(),
                "coroutine": getattr(coroutine, "__qualname__", type(coroutine).__name__),
                "done": task.done(),
            }
        )
    return sorted(shown, key=lambda t: str(t["name"]))


class DebugRoutes:
    """`add_to(app)` registers `/debug` next to the probes it builds on."""

    def __init__(self, probes: ProbeRoutes, container: Container) -> None:
        self.probes = probes
        self.container = container

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/debug", self.debug)

    def enabled(self) -> bool:
        return bool(self.probes.config.config.system.debug)

    async def debug(self, request: web.Request) -> web.Response:
        if not self.enabled():
            return web.json_response({"error": "debug is off", "message": OFF}, status=403)
        return web.json_response(self.document(), dumps=_dumps)

    def document(self) -> dict[str, Any]:
        config = self.probes.config
        return {
            **self.probes.health_document(alerts=100),
            "effective_config": config.export(),
            "logging": {"level": current_level(), "debug": config.config.system.debug},
            "versions": versions(),
            "tasks": tasks(),
            "container": self.container.describe(),
        }


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
