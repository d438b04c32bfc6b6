"""The aiohttp server of a component process: routes are added before `start()`, which binds the port.

Binding to port 0 picks a free port (see `port`), which tests use.
"""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger(__name__)


class HttpServer:
    """One aiohttp application on `host:port`; add routes through `app.router` before `start()`."""

    def __init__(self, host: str = "0.0.0.0", port: int = 8080, *, shutdown_timeout: float = 5.0) -> None:
        self.host, self.requested_port = host, port
        self.shutdown_timeout = shutdown_timeout
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one, or the one the OS picked for port 0)."""
        if self._port is None:
            raise RuntimeError("the HTTP server is not started")
        return self._port

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = [a for a in runner.addresses if isinstance(a, tuple)]
        self._port = int(addresses[0][1]) if addresses else self.requested_port
        log.info(
            "serving HTTP on %s:%d", self.host, self._port, extra={"host": self.host, "port": self._port}
        )

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            log.info("HTTP server stopped")
