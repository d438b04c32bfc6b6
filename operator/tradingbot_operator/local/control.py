"""The running bot's control API: a small HTTP server on 127.0.0.1 for the other `tradingbot` commands.

`--health-check`, `--diagnostics` and the dashboard of a bot started elsewhere read its status and send
restart/suspend/stop requests here. The address and a random token are in `runner.json` (mode 0600, in a
0700 directory): only the user who runs the bot can call it.

    GET  /v1/status                         the report (status.json's content, fresh)
    POST /v1/restart {"component": NAME}     like `kubectl tradingbot restart`
    POST /v1/suspend {"suspend": true|false}
    POST /v1/stop                            graceful stop in reverse phase order
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tradingbot_operator.local.runner import LocalRunner
from tradingbot_operator.local.statedir import StateDir, write_atomic
from tradingbot_operator.planner.timefmt import format_time


class ControlUnreachable(RuntimeError):
    """No runner answers for this bot."""


class ControlServer:
    def __init__(self, runner: LocalRunner, on_stop: Callable[[], None]) -> None:
        self.runner = runner
        self.on_stop = on_stop
        self.token = secrets.token_urlsafe(24)
        self.port = 0
        self._site: web.TCPSite | None = None
        self._app_runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/v1/status", self._status)
        app.router.add_post("/v1/restart", self._restart)
        app.router.add_post("/v1/suspend", self._suspend)
        app.router.add_post("/v1/stop", self._stop)
        self._app_runner = web.AppRunner(app, access_log=None)
        await self._app_runner.setup()
        self._site = web.TCPSite(self._app_runner, "127.0.0.1", 0)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        info = {
            "pid": os.getpid(),
            "bot": self.runner.bot.name,
            "control": f"http://127.0.0.1:{self.port}",
            "token": self.token,
            "configFile": str(self.runner.bot.source),
            "started": format_time(datetime.now(UTC)),
            "ports": self.runner.ports,
        }
        write_atomic(self.runner.state.runner_file, json.dumps(info, indent=1) + "\n", 0o600)

    async def stop(self) -> None:
        if self._app_runner is not None:
            await self._app_runner.cleanup()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": "missing or wrong token (see runner.json)"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.runner.report)

    async def _restart(self, request: web.Request) -> web.Response:
        body = await request.json()
        component = str(body.get("component", ""))
        if component != "all" and component not in self.runner.ports:
            known = ", ".join(self.runner.ports)
            return web.json_response(
                {"error": f"no component {component!r}; components: {known}, or 'all'"}, status=404
            )
        self.runner.request_restart(component)
        return web.json_response({"requested": component})

    async def _suspend(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.runner.suspend(bool(body.get("suspend", True)))
        return web.json_response({"suspended": self.runner.suspended})

    async def _stop(self, request: web.Request) -> web.Response:
        self.on_stop()
        return web.json_response({"stopping": True})


class ControlClient:
    """Calls a running bot's control API (blocking; for one-shot commands and the dashboard's thread)."""

    def __init__(self, state: StateDir, timeout: float = 5.0) -> None:
        info = state.runner_info() if state.running() else None
        if not info or "control" not in info:
            raise ControlUnreachable(f"no bot is running with state in {state.path}")
        self.base, self.token, self.timeout = info["control"], info["token"], timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("error", error.reason)
            raise ControlUnreachable(f"{method} {path}: {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ControlUnreachable(f"the bot's runner at {self.base} does not answer: {error}") from None

    def report(self) -> dict[str, Any]:
        return self.call("GET", "/v1/status")

    def restart(self, component: str) -> None:
        self.call("POST", "/v1/restart", {"component": component})

    def suspend(self, suspend: bool) -> None:
        self.call("POST", "/v1/suspend", {"suspend": suspend})

    def stop(self) -> None:
        self.call("POST", "/v1/stop")
