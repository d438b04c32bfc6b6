"""Alert delivery to an optional webhook: queued, retried with backoff, never in the reconcile path.

Reconciles call `publish()`, which only enqueues (dropping the oldest alert when the queue is full); a
background task posts each alert as JSON and retries transient failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class WebhookSink:
    def __init__(
        self, url: str, *, capacity: int = 1000, attempts: int = 5, backoff: float = 0.5, timeout: float = 5.0
    ) -> None:
        self.url, self.attempts, self.backoff, self.timeout = url, attempts, backoff, timeout
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=capacity)
        self.dropped = 0
        self.delivered = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alert-webhook")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def publish(self, alert: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(alert)

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            while True:
                alert = await self.queue.get()
                await self._deliver(session, alert)

    async def _deliver(self, session: aiohttp.ClientSession, alert: dict[str, Any]) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                async with session.post(self.url, json=alert) as response:
                    if response.status < 500 and response.status != 429:
                        if response.status >= 400:
                            log.warning("alert webhook refused an alert: HTTP %s", response.status)
                        else:
                            self.delivered += 1
                        return
            except (aiohttp.ClientError, TimeoutError) as error:
                log.debug("alert webhook attempt %d failed: %s", attempt, error)
            await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        log.warning(
            "alert webhook unreachable after %d attempts; dropped %s", self.attempts, alert.get("reason")
        )
