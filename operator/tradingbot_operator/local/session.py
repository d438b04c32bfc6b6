"""A local bot while it runs: the runner, its control API and alert webhook, started and stopped together.

`async with BotSession(bot, state) as session:` starts everything (raises AlreadyRunning when another run
holds the bot), `await session.wait_started()` waits for the startup's outcome, and leaving the block
stops every component in reverse phase order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from tradingbot_operator.local.control import ControlServer
from tradingbot_operator.local.document import LocalBot
from tradingbot_operator.local.runner import LocalRunner
from tradingbot_operator.local.statedir import StateDir
from tradingbot_operator.reconciler.alerting import WebhookSink

STOP_TIMEOUT = 180.0


def startup_settled(status: Mapping[str, Any]) -> bool:
    """Startup has an outcome: every phase Ready, or failed (and any rollback finished)."""
    if status.get("startupPhase") == "Complete":
        return True
    progressing: Mapping[str, Any] = next(
        (c for c in status.get("conditions", []) if c.get("type") == "Progressing"), {}
    )
    return status.get("phase") == "Failed" and progressing.get("status") == "False"


class BotSession:
    def __init__(
        self,
        bot: LocalBot,
        state: StateDir,
        *,
        environ: Mapping[str, str] | None = None,
        alert_webhook: str | None = None,
        watch_file: bool = True,
    ) -> None:
        self.runner = LocalRunner(bot, state, environ=environ, watch_file=watch_file)
        self.control = ControlServer(self.runner, on_stop=self.request_stop)
        self.webhook = WebhookSink(alert_webhook) if alert_webhook else None
        self.stop_requested = asyncio.Event()
        self._changed = asyncio.Event()
        self.runner.listeners.append(lambda _runner: self._changed.set())

    async def __aenter__(self) -> BotSession:
        await self.runner.start()
        try:
            await self.control.start()
            if self.webhook is not None:
                self.webhook.start()
                self.runner.events.alert_listeners.append(self.webhook.publish)
        except BaseException:
            await self.runner.stop(30)
            await self.runner.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    def request_stop(self) -> None:
        self.stop_requested.set()

    async def shutdown(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Reverse-order stop; False when components had to be killed."""
        try:
            clean = await self.runner.stop(timeout)
        finally:
            await self.control.stop()
            if self.webhook is not None:
                await self.webhook.stop()
            await self.runner.close()
        return clean

    async def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Wait until `predicate(status)` holds; False at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self.runner.status):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))
        return True

    async def wait_started(self, timeout: float) -> bool:
        return await self.wait_for(startup_settled, timeout)
