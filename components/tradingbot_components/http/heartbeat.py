"""Liveness of the event loop: a task stamps the time every beat; a stale stamp means the loop is stuck.

Kubernetes restarts a process whose loop stopped turning (a blocking call, a livelock) via `/livez`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tradingbot_components.runtime.tasks import cancel_and_wait


class LoopHeartbeat:
    """`start()` on the loop to watch; `stale()` is True when no beat landed for `max_age` seconds."""

    def __init__(
        self, *, period: float = 0.5, max_age: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.period, self.max_age = period, max_age
        self._clock = clock
        self._last = clock()
        self._task: asyncio.Task[None] | None = None

    @property
    def age(self) -> float:
        """Seconds since the last beat."""
        return self._clock() - self._last

    def stale(self) -> bool:
        return self.age > self.max_age

    def beat(self) -> None:
        self._last = self._clock()

    async def start(self) -> None:
        self.beat()
        self._task = asyncio.create_task(self._run(), name="loop-heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            self.beat()
            await asyncio.sleep(self.period)
