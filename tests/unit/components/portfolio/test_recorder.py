"""Store, then apply: the recorder writes each new fill to storage before the book counts it, waits out a
storage outage without skipping or reordering, never stores or applies a fill twice, and reports what
storage refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from tests.support.waiting import async_wait_until
from tests.unit.components.portfolio.fakes import fill
from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.portfolio.recorder import FillRecorder
from tradingbot_components.storage.models import Fill


class FakeStore:
    """Storage's fill semantics (idempotent by id, a different record under a known id is a conflict), with
    an outage switch; it checks that the book has not counted a fill before it is stored."""

    def __init__(self, book: PositionBook) -> None:
        self.book = book
        self.fills: dict[str, Fill] = {}
        self.calls: list[str] = []
        self.down = False
        self.applied_before_stored: list[str] = []

    async def add_fill(self, fill: Fill) -> tuple[Fill, bool]:
        self.calls.append(fill.fill_id)
        if self.book.knows(fill.fill_id):
            self.applied_before_stored.append(fill.fill_id)
        if self.down:
            raise ServiceUnavailable("storage at http://127.0.0.1:1 is unreachable", before_sending=True)
        stored = self.fills.get(fill.fill_id)
        if stored is None:
            self.fills[fill.fill_id] = fill
            return fill, True
        if not stored.same_execution(fill):
            raise ServiceRejected("storage refused POST /v1/fills (HTTP 409): Conflict", 409, {})
        return stored, False


def recorder_and_store(on_progress: Callable[[], None] | None = None) -> tuple[FillRecorder, FakeStore]:
    book = PositionBook()
    store = FakeStore(book)
    return FillRecorder(store, book, on_progress=on_progress, retry_base=0.01, retry_cap=0.05), store


async def settled(recorder: FillRecorder) -> bool:
    return recorder.pending == 0


async def test_each_fill_is_stored_before_it_is_applied() -> None:
    recorder, store = recorder_and_store()
    recorder.start()
    try:
        recorder.submit([fill("T1", "buy", "1", "100"), fill("T2", "sell", "0.5", "110", second=1)])
        await async_wait_until(lambda: settled(recorder), timeout=5, what="fills recorded")
    finally:
        await recorder.stop()
    assert store.calls == ["T1", "T2"] and store.applied_before_stored == []
    assert recorder.book.fills == 2 and recorder.applied == 2
    assert recorder.book.holding("BTC/USD").quantity == 0.5


async def test_a_fill_already_applied_is_neither_stored_nor_applied_again() -> None:
    recorder, store = recorder_and_store()
    recorder.start()
    try:
        first = fill("T1", "buy", "1", "100")
        recorder.submit([first, first])  # an update, then a reconnect's snapshot replaying it
        await async_wait_until(lambda: settled(recorder), timeout=5, what="fills recorded")
        recorder.submit([first])
        await async_wait_until(lambda: settled(recorder), timeout=5, what="the replay handled")
    finally:
        await recorder.stop()
    assert store.calls == ["T1"]
    assert recorder.duplicates == 2 and recorder.applied == 1 and recorder.book.fills == 1


async def test_a_fill_storage_already_had_is_applied_once() -> None:
    recorder, store = recorder_and_store()
    known = fill("T1", "buy", "1", "100")
    store.fills["T1"] = known  # stored by an earlier run that died before applying it
    recorder.start()
    try:
        recorder.submit([known, known])
        await async_wait_until(lambda: settled(recorder), timeout=5, what="fills recorded")
    finally:
        await recorder.stop()
    assert recorder.already_stored == 1 and recorder.applied == 1 and recorder.duplicates == 1
    assert recorder.book.holding("BTC/USD").quantity == 1


async def test_a_storage_outage_holds_the_queue_in_order_and_loses_nothing() -> None:
    progress: list[int] = []
    recorder, store = recorder_and_store(lambda: progress.append(recorder.processed))
    store.down = True
    recorder.start()
    try:
        recorder.submit([fill("T1", "buy", "1", "100"), fill("T2", "buy", "1", "120", second=1)])

        async def retrying() -> bool:
            return recorder.waiting_for_storage and recorder.storage_failures >= 3

        await async_wait_until(retrying, timeout=5, what="retries while storage is down")
        assert recorder.book.fills == 0 and recorder.pending == 2
        store.down = False
        await async_wait_until(lambda: settled(recorder), timeout=5, what="fills recorded after the outage")
    finally:
        await recorder.stop()
    assert list(store.fills) == ["T1", "T2"]
    assert recorder.book.holding("BTC/USD").average_price == 110
    assert not recorder.waiting_for_storage and store.applied_before_stored == []
    assert progress[-1] == 2


async def test_a_fill_storage_refuses_is_reported_and_not_applied() -> None:
    recorder, store = recorder_and_store()
    store.fills["T1"] = fill("T1", "buy", "1", "100")
    recorder.start()
    try:
        conflicting = replace(fill("T1", "buy", "1", "100"), volume=Decimal("2"))
        recorder.submit([conflicting, fill("T2", "buy", "1", "100", second=1)])
        await async_wait_until(lambda: settled(recorder), timeout=5, what="fills handled")
    finally:
        await recorder.stop()
    assert recorder.refused_count == 1 and recorder.refused[0].fill_id == "T1"
    assert "409" in recorder.refused[0].reason
    assert recorder.book.fills == 1 and recorder.book.knows("T2") and not recorder.book.knows("T1")


async def test_stop_gives_queued_fills_a_chance_to_be_recorded() -> None:
    recorder, _store = recorder_and_store()
    recorder.start()
    recorder.submit([fill(f"T{i}", "buy", "1", "100", second=i) for i in range(20)])
    await recorder.stop()
    assert recorder.book.fills == 20 and recorder.pending == 0


async def test_stop_does_not_wait_for_storage_that_is_down() -> None:
    recorder, store = recorder_and_store()
    store.down = True
    recorder.start()
    recorder.submit([fill("T1", "buy", "1", "100")])

    async def failing() -> bool:
        return recorder.waiting_for_storage

    await async_wait_until(failing, timeout=5, what="the first failure")
    async with asyncio.timeout(1):
        await recorder.stop()
    assert recorder.book.fills == 0  # left for the next start: the exchange replays recent fills
