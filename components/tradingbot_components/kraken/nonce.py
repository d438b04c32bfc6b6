"""The single writer of nonces for one Kraken API key: strictly increasing, restart-safe.

Kraken rejects a nonce that is not above the last one it accepted for the key (`EAPI:Invalid nonce`).
Nonces are Unix time in milliseconds by default: that is the scale of Kraken's own examples and of the
per-key "nonce window" setting (5000 = 5 s), and the rate limits keep us far below 1000 private calls per
second. When calls outrun the clock, or the clock steps back, the sequencer issues `last + 1` instead.

Restart safety comes from reserving ahead: before issuing any nonce above the persisted high-water mark,
the sequencer persists a new mark one block ahead (a minute of clock by default) through the `persist`
hook. A restarted process seeded with that mark therefore starts above every nonce ever issued, even
though the mark is written once per block rather than once per call.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import cast

UINT64_MAX = 2**64 - 1

SyncPersist = Callable[[int], None]
AsyncPersist = Callable[[int], Awaitable[None]]


class NonceUnit(enum.IntEnum):
    """Nonce ticks per second. Never change the unit for a key that has been used."""

    MILLISECONDS = 1_000
    MICROSECONDS = 1_000_000


class NonceSequencer:
    """Issues strictly increasing nonces for one API key; share one instance per key per process.

    `high_water` is the last mark returned by `persist` (or the last nonce known used); every nonce issued
    is above it. `persist(mark)` must make `mark` durable before it returns; it may be a coroutine
    function, in which case call `next_async()` (the sync `next()` cannot wait for it).
    """

    def __init__(
        self,
        *,
        high_water: int = 0,
        clock: Callable[[], float] = time.time,
        unit: NonceUnit = NonceUnit.MILLISECONDS,
        block_seconds: float = 60.0,
        persist: SyncPersist | AsyncPersist | None = None,
    ) -> None:
        if not 0 <= high_water < UINT64_MAX:
            raise ValueError(f"high_water must be an unsigned 64-bit integer, got {high_water}")
        if block_seconds <= 0:
            raise ValueError(f"block_seconds must be positive, got {block_seconds}")
        self._clock = clock
        self._unit = unit
        self._block = max(1, int(block_seconds * unit))
        self._persist_sync: SyncPersist | None = None
        self._persist_async: AsyncPersist | None = None
        if inspect.iscoroutinefunction(persist):
            self._persist_async = cast(AsyncPersist, persist)
        elif persist is not None:
            self._persist_sync = cast(SyncPersist, persist)
        self._last = high_water
        # Without a persist hook nothing is reserved, so there is no ceiling to respect.
        self._ceiling: int | None = high_water if persist is not None else None
        self._lock = threading.Lock()
        self._reserve_lock: asyncio.Lock | None = None

    @property
    def unit(self) -> NonceUnit:
        return self._unit

    @property
    def last(self) -> int:
        """The last nonce issued (or the seed before the first one)."""
        return self._last

    @property
    def high_water(self) -> int | None:
        """The durable reserved mark; a restart seeded with it never reissues a nonce. None: no hook."""
        return self._ceiling

    def _now(self) -> int:
        return int(self._clock() * self._unit)

    def _candidate(self) -> int:
        return max(self._last + 1, self._now())

    def _issue_within_ceiling(self) -> int | None:
        """Issue the next nonce if it is covered by the durable reservation (caller holds the lock)."""
        nonce = self._candidate()
        if nonce > UINT64_MAX:
            raise OverflowError("nonce exceeds 2**64-1; the key needs a fresh nonce history")
        if self._ceiling is not None and nonce > self._ceiling:
            return None
        self._last = nonce
        return nonce

    def next(self) -> int:
        """The next nonce. Persists a new block first when the reservation is used up (sync hook only)."""
        if self._persist_async is not None:
            raise RuntimeError(
                "this sequencer persists through a coroutine: use `await sequencer.next_async()`"
            )
        with self._lock:
            nonce = self._issue_within_ceiling()
            if nonce is not None:
                return nonce
            mark = self._candidate() + self._block
            assert self._persist_sync is not None  # a ceiling exists only with a hook
            self._persist_sync(mark)  # durable before any nonce from the new block leaves this process
            self._ceiling = mark
            nonce = self._issue_within_ceiling()
            assert nonce is not None
            return nonce

    async def next_async(self) -> int:
        """The next nonce, awaiting the persist hook when a new block must be reserved.

        Concurrent callers are safe: only one reservation is in flight, the others wait for it.
        """
        persist = self._persist_async
        if persist is None:
            return self.next()
        if self._reserve_lock is None:
            self._reserve_lock = asyncio.Lock()
        while True:
            with self._lock:
                nonce = self._issue_within_ceiling()
            if nonce is not None:
                return nonce
            async with self._reserve_lock:
                with self._lock:
                    candidate = self._candidate()
                    if self._ceiling is not None and candidate <= self._ceiling:
                        continue  # another caller reserved while we waited for the lock
                mark = candidate + self._block
                await persist(mark)  # durable before any nonce from the new block is issued
                with self._lock:
                    self._ceiling = max(self._ceiling or 0, mark)
