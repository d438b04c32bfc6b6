"""The nonce sequencer: strictly increasing on a misbehaving clock, and never reissuing after a restart."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.components.kraken.fakes import FakeTime
from tradingbot_components.kraken.nonce import NonceSequencer, NonceUnit


class MarkStore:
    """A persisted high-water mark, as the storage component would keep it."""

    def __init__(self) -> None:
        self.mark = 0
        self.writes: list[int] = []

    def save(self, mark: int) -> None:
        self.writes.append(mark)
        self.mark = mark

    async def save_async(self, mark: int) -> None:
        await asyncio.sleep(0)
        self.save(mark)


def test_nonces_are_wall_clock_milliseconds(fake_time: FakeTime) -> None:
    fake_time.now = 1616492376.594
    sequencer = NonceSequencer(clock=fake_time.clock)
    assert sequencer.unit is NonceUnit.MILLISECONDS
    assert sequencer.next() == 1616492376594


def test_microseconds_on_request(fake_time: FakeTime) -> None:
    fake_time.now = 1616492376.594
    assert NonceSequencer(clock=fake_time.clock, unit=NonceUnit.MICROSECONDS).next() == 1616492376594000


def test_calls_within_one_millisecond_still_increase(fake_time: FakeTime) -> None:
    sequencer = NonceSequencer(clock=fake_time.clock)
    first = sequencer.next()
    assert [sequencer.next() for _ in range(3)] == [first + 1, first + 2, first + 3]


def test_a_clock_stepping_back_never_moves_nonces_back(fake_time: FakeTime) -> None:
    sequencer = NonceSequencer(clock=fake_time.clock)
    before = sequencer.next()
    fake_time.advance(-3600)  # NTP step, VM resume, ...
    after = sequencer.next()
    assert after == before + 1
    fake_time.advance(3600 + 10)
    assert sequencer.next() == int(fake_time.now * 1000)  # back on the clock once it catches up


def test_seeded_high_water_is_respected(fake_time: FakeTime) -> None:
    seed = int(fake_time.now * 1000) + 50_000  # a mark from a clock that ran ahead
    assert NonceSequencer(high_water=seed, clock=fake_time.clock).next() == seed + 1


def test_reservations_are_persisted_in_blocks(fake_time: FakeTime) -> None:
    store = MarkStore()
    sequencer = NonceSequencer(clock=fake_time.clock, block_seconds=60, persist=store.save)
    issued = []
    for _ in range(100):  # 100 calls over 50 s: one block covers them all
        issued.append(sequencer.next())
        fake_time.advance(0.5)
    assert len(store.writes) == 1
    assert store.writes[0] == issued[0] + 60_000
    assert max(issued) <= store.mark == sequencer.high_water
    fake_time.advance(20)  # past the reserved block
    assert sequencer.next() <= store.mark
    assert len(store.writes) == 2


def test_restart_from_the_persisted_mark_never_reissues(fake_time: FakeTime) -> None:
    store = MarkStore()
    first_life = NonceSequencer(clock=fake_time.clock, persist=store.save)
    issued = [first_life.next() for _ in range(1000)]  # a burst runs ahead of the clock
    # Crash. The mark was written once, at the start; the clock has meanwhile been stepped back.
    fake_time.advance(-120)
    second_life = NonceSequencer(high_water=store.mark, clock=fake_time.clock, persist=store.save)
    assert second_life.next() > max(issued)


def test_a_failed_persist_issues_nothing(fake_time: FakeTime) -> None:
    def broken(mark: int) -> None:
        raise OSError("disk full")

    sequencer = NonceSequencer(high_water=5, clock=fake_time.clock, persist=broken)
    with pytest.raises(OSError, match="disk full"):
        sequencer.next()
    assert sequencer.last == 5


async def test_async_persist_serves_concurrent_callers_with_one_write(fake_time: FakeTime) -> None:
    store = MarkStore()
    sequencer = NonceSequencer(clock=fake_time.clock, persist=store.save_async)
    nonces = await asyncio.gather(*(sequencer.next_async() for _ in range(50)))
    assert len(set(nonces)) == 50
    assert max(nonces) <= store.mark
    assert len(store.writes) == 1


def test_sync_next_refuses_an_async_persist_hook(fake_time: FakeTime) -> None:
    sequencer = NonceSequencer(clock=fake_time.clock, persist=MarkStore().save_async)
    with pytest.raises(RuntimeError, match=r"await sequencer\.next_async"):
        sequencer.next()


async def test_next_async_without_a_hook_is_plain_next(fake_time: FakeTime) -> None:
    sequencer = NonceSequencer(clock=fake_time.clock)
    assert await sequencer.next_async() < await sequencer.next_async()
    assert sequencer.high_water is None


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        NonceSequencer(high_water=-1)
    with pytest.raises(ValueError, match="block_seconds must be positive"):
        NonceSequencer(block_seconds=0)


@given(steps=st.lists(st.floats(min_value=-5_000, max_value=5_000), min_size=1, max_size=60))
def test_any_clock_path_gives_strictly_increasing_reserved_nonces(steps: list[float]) -> None:
    fake_time = FakeTime(start=1_700_000_000.0)
    store = MarkStore()
    sequencer = NonceSequencer(clock=fake_time.clock, block_seconds=1, persist=store.save)
    previous = 0
    for step in steps:
        fake_time.advance(step)
        nonce = sequencer.next()
        assert nonce > previous
        assert nonce <= store.mark  # covered by a durable reservation before it was handed out
        previous = nonce
