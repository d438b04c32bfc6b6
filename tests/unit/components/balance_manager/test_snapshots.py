"""Balance snapshots to storage: debounced for WS changes, prompt after a reconcile, retried with the latest
balances when storage is away, not repeated when storage refuses, flushed on stop."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal as D

from tests.support.waiting import async_wait_until
from tradingbot_components.balance_manager.snapshots import SnapshotWriter
from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable


class FakeStorage:
    def __init__(self) -> None:
        self.written: list[dict[str, D]] = []
        self.failures: list[Exception] = []  # raised, in order, before writes succeed

    async def store(self, balances: Mapping[str, D]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.written.append(dict(balances))


async def _until(predicate, what: str):  # type: ignore[no-untyped-def]
    async def probe():  # type: ignore[no-untyped-def]
        return predicate()

    return await async_wait_until(probe, timeout=5, what=what)


async def test_ws_changes_are_debounced_and_a_reconcile_is_written_at_once() -> None:
    storage, latest = FakeStorage(), {"ZUSD": D("1")}
    writer = SnapshotWriter(storage.store, lambda: latest, interval=60.0)
    writer.start()
    try:
        writer.request()
        await _until(lambda: len(storage.written) == 1, "the first write")
        latest = {"ZUSD": D("2")}
        writer.request()
        latest = {"ZUSD": D("3")}
        writer.request()
        await _until(lambda: writer.status()["pending"], "a pending write")
        assert len(storage.written) == 1  # within the interval: waiting
        writer.request(urgent=True)
        await _until(lambda: len(storage.written) == 2, "the urgent write")
        assert storage.written == [{"ZUSD": D("1")}, {"ZUSD": D("3")}]  # one write for the burst, the latest
    finally:
        await writer.stop()


async def test_storage_away_is_retried_with_the_latest_balances() -> None:
    storage, results = FakeStorage(), []
    storage.failures = [ServiceUnavailable("storage at x is unreachable")] * 2
    latest = {"ZUSD": D("1")}
    writer = SnapshotWriter(storage.store, lambda: latest, interval=0.01, on_result=results.append)
    writer.start()
    try:
        writer.request(urgent=True)
        await _until(lambda: writer.failures_in_a_row == 1, "a failed write")
        latest = {"ZUSD": D("9")}
        await _until(lambda: storage.written, "the retried write")
        assert storage.written == [{"ZUSD": D("9")}]
        assert results == [False, False, True]
        assert writer.status()["failures_in_a_row"] == 0 and writer.status()["last_error"] is None
    finally:
        await writer.stop()


async def test_a_refused_snapshot_is_not_repeated() -> None:
    storage = FakeStorage()
    storage.failures = [ServiceRejected("storage refused", 400, {})]
    writer = SnapshotWriter(storage.store, lambda: {"ZUSD": D("-1")}, interval=0.01)
    writer.start()
    try:
        writer.request(urgent=True)
        await _until(lambda: writer.last_error == "storage refused", "the refusal")
        assert not writer.status()["pending"]
    finally:
        await writer.stop()
    assert storage.written == []


async def test_stop_flushes_a_pending_snapshot() -> None:
    storage = FakeStorage()
    writer = SnapshotWriter(storage.store, lambda: {"XXBT": D("0.5")}, interval=60.0)
    writer.start()
    writer.request()
    await _until(lambda: storage.written, "the first write")
    writer.request()  # debounced: still pending when the process stops
    await writer.stop()
    assert storage.written == [{"XXBT": D("0.5")}, {"XXBT": D("0.5")}]
