"""Balance snapshots to storage: the latest totals, written promptly after a reconcile and at most once per
interval for WebSocket changes (a burst of fills makes one write). A write storage could not take is retried
with whatever is latest by then; a write it refused (4xx) is logged and not repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Store = Callable[[Mapping[str, Decimal]], Awaitable[None]]
RETRY_CAP = 30.0


class SnapshotWriter:
    def __init__(
        self,
        store: Store,
        latest: Callable[[], Mapping[str, Decimal]],
        *,
        interval: float,
        on_result: Callable[[bool], None] = lambda _ok: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._latest = latest
        self.interval = interval
        self._on_result = on_result
        self._clock = clock
        self._wake = asyncio.Event()
        self._pending = False
        self._urgent = False
        self._task: asyncio.Task[None] | None = None
        self._last_write: float | None = None
        self.written = 0
        self.failures_in_a_row = 0
        self.last_error: str | None = None
        self.last_written_at: float | None = None  # Unix time

    def request(self, *, urgent: bool = False) -> None:
        """Write the latest balances soon: now-ish when `urgent`, else within `interval`."""
        self._pending = True
        self._urgent = self._urgent or urgent
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="balance-snapshots")

    async def stop(self, *, flush_timeout: float = 2.0) -> None:
        """Stop; a pending snapshot gets one last attempt within `flush_timeout`."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(flush_timeout):
                    await self._write_once()

    def status(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "pending": self._pending,
            "last_written_at": self.last_written_at,
            "failures_in_a_row": self.failures_in_a_row,
            "last_error": self.last_error,
            "interval": self.interval,
        }

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            # Debounce, but let an urgent request (a reconcile) cut the wait short.
            while not self._urgent and self._last_write is not None:
                wait = self._last_write + self.interval - self._clock()
                if wait <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                self._wake.clear()
            if await self._write_once() is False:
                await asyncio.sleep(backoff_delay(self.failures_in_a_row, base=0.5, cap=RETRY_CAP))
                self._wake.set()

    async def _write_once(self) -> bool | None:
        """True when written, False when it should be tried again, None when storage refused it."""
        self._pending = self._urgent = False
        balances = dict(self._latest())
        self._last_write = self._clock()
        try:
            await self._store(balances)
        except ServiceUnavailable as exc:
            self._failed(str(exc), retry=True)
            return False
        except ServiceRejected as exc:
            self._failed(str(exc), retry=False)
            log.error("storage refused a balance snapshot: %s", exc)
            return None
        self.written += 1
        self.failures_in_a_row = 0
        self.last_error = None
        self.last_written_at = time.time()
        self._on_result(True)
        return True

    def _failed(self, error: str, *, retry: bool) -> None:
        self.failures_in_a_row += 1
        self.last_error = error
        self._on_result(False)
        if retry:
            self._pending = True
            if self.failures_in_a_row == 1:
                log.warning("balance snapshot not stored, will retry: %s", error)
