"""Bringing an open circuit back: wait out `recovery_timeout`, probe with a public Time call, repeat.

The breaker changes state only when asked, so without traffic an open breaker would stay open; and client
calls are refused until it closes. This loop is the one that asks, and the only one that probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tradingbot_components.kraken.breaker import BreakerState, CircuitBreaker, StateChange
from tradingbot_components.runtime.invocation import describe_error

log = logging.getLogger(__name__)


class HalfOpenProber:
    """`run()` as a task; `on_state_change` must be registered as the breaker's listener."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        probe: Callable[[], Awaitable[BreakerState]],
        *,
        failure_pause: float = 1.0,
    ) -> None:
        self._breaker = breaker
        self._probe = probe
        self._failure_pause = failure_pause
        self._wake = asyncio.Event()
        self.probes = 0
        self.last_change: StateChange | None = None

    def on_state_change(self, change: StateChange) -> None:
        self.last_change = change
        self._wake.set()

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            state = self._breaker.state
            if state is BreakerState.CLOSED:
                await self._wait(None)
                continue
            delay = self._breaker.retry_after()
            if delay > 0:
                await self._wait(delay)
                continue
            self.probes += 1
            try:
                await self._probe()
            except Exception as exc:  # the probe must never kill the loop
                log.warning("circuit probe failed to run: %s", describe_error(exc))
                await self._wait(self._failure_pause)
