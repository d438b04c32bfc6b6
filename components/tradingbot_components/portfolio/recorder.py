"""Fills from the exchange into the position book, durable first: one at a time in arrival order, each new
fill is written to storage (idempotent by fill id) and only then applied, so a crash at any point loses
nothing that the next start's rebuild plus the exchange's replay of recent fills cannot restore.

A fill the book already holds (a replay after a reconnect, a duplicate) is not written again and changes
nothing. Storage being down holds the queue (retried with backoff, nothing skipped); a fill storage refuses
outright (4xx: a conflicting record, an invalid value) is never applied, and is reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.tasks import cancel_and_wait
from tradingbot_components.storage.models import Fill

log = logging.getLogger(__name__)

REFUSED_KEPT = 20  # refused fills listed in /healthz (the count is kept in full)


class FillStore(Protocol):
    async def add_fill(self, fill: Fill) -> tuple[Fill, bool]:
        """Store `fill` (idempotent by id); `(stored, created)`."""
        ...


@dataclass(frozen=True, slots=True)
class RefusedFill:
    fill_id: str
    pair: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"fill_id": self.fill_id, "pair": self.pair, "reason": self.reason}


class FillRecorder:
    """`submit()` fills from the feed callback; a worker task persists and applies them in order."""

    def __init__(
        self,
        store: FillStore,
        book: PositionBook,
        *,
        on_progress: Callable[[], None] | None = None,
        retry_base: float = 0.2,
        retry_cap: float = 5.0,
    ) -> None:
        self.book = book
        self._store = store
        self._on_progress = on_progress or (lambda: None)
        self._retry_base, self._retry_cap = retry_base, retry_cap
        self._queue: asyncio.Queue[Fill] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.submitted = 0
        self.processed = 0  # persisted and applied, or found to be a duplicate, or refused
        self.applied = 0
        self.duplicates = 0
        self.already_stored = (
            0  # new to the book but storage had it (another writer, or a crash before apply)
        )
        self.refused_count = 0
        self.refused: list[RefusedFill] = []
        self.storage_failures = 0
        self.last_error: str | None = None
        self.waiting_for_storage = False

    @property
    def pending(self) -> int:
        return self.submitted - self.processed

    def submit(self, fills: Iterable[Fill]) -> None:
        for fill in fills:
            self._queue.put_nowait(fill)
            self.submitted += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="portfolio-fill-recorder")

    async def stop(self, drain_timeout: float = 3.0) -> None:
        """Give queued fills `drain_timeout` seconds to be recorded, then stop; whatever is left is replayed
        by the exchange on the next start (its snapshot of recent fills)."""
        if self._task is None:
            return
        if self.pending and not self.waiting_for_storage:
            try:
                async with asyncio.timeout(drain_timeout):
                    await self._queue.join()
            except TimeoutError:
                log.warning(
                    "stopping with %d fill(s) not recorded; the next start replays them", self.pending
                )
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            fill = await self._queue.get()
            try:
                await self._record(fill)
            finally:
                self.processed += 1
                self._queue.task_done()
            self._on_progress()

    async def _record(self, fill: Fill) -> None:
        if self.book.knows(fill.fill_id):
            self.duplicates += 1
            log.debug("fill %s already applied; ignored", fill.fill_id)
            return
        stored = await self._persist(fill)
        if stored is None:
            return
        try:
            self.book.apply(stored)
        except ValueError as exc:  # storage validates the same things, so this is a stored record gone bad
            self._refuse(fill, f"stored fill cannot be applied: {exc}")
            return
        self.applied += 1
        log.info(
            "fill %s: %s %s %s at %s applied",
            fill.fill_id,
            fill.pair,
            fill.side,
            fill.volume,
            fill.price,
            extra={"fill_id": fill.fill_id, "pair": fill.pair, "side": str(fill.side)},
        )

    async def _persist(self, fill: Fill) -> Fill | None:
        """The fill as storage holds it once stored, retrying while storage is unavailable; None if refused."""
        attempt = 0
        while True:
            try:
                stored, created = await self._store.add_fill(fill)
            except ServiceUnavailable as exc:
                attempt += 1
                self.storage_failures += 1
                self.last_error = str(exc)
                if not self.waiting_for_storage:
                    log.warning("fill %s not stored yet, retrying: %s", fill.fill_id, exc)
                self.waiting_for_storage = True
                self._on_progress()
                await asyncio.sleep(backoff_delay(attempt, base=self._retry_base, cap=self._retry_cap))
                continue
            except ServiceRejected as exc:
                self._refuse(fill, str(exc))
                return None
            if self.waiting_for_storage:
                log.info("storage accepts fills again")
            self.waiting_for_storage = False
            if not created:
                self.already_stored += 1
            return stored

    def _refuse(self, fill: Fill, reason: str) -> None:
        self.refused_count += 1
        self.refused = [*self.refused, RefusedFill(fill.fill_id, fill.pair, reason)][-REFUSED_KEPT:]
        self.last_error = reason
        log.error(
            "fill %s (%s) NOT applied: %s", fill.fill_id, fill.pair, reason, extra={"fill_id": fill.fill_id}
        )
