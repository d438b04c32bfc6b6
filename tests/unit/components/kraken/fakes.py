"""Virtual time for the Kraken library tests: a clock that only moves when code sleeps on it."""

from __future__ import annotations

import asyncio


class FakeTime:
    """`clock()` returns virtual seconds; `await sleep(dt)` advances them instantly."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would
