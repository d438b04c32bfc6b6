"""Bringing an open circuit back: the recovery handler of the `exchange-circuit` health check.

The breaker changes state only when asked, so without traffic an open breaker would stay open; and client
calls are refused until it closes. The health monitor calls this handler while the circuit is unhealthy; it
defers (`RecoveryDeferred`, no attempt spent) until `recovery_timeout` has passed, then makes the half-open
probe, a public Time call. It is the only thing that probes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tradingbot_components.kraken.breaker import BreakerState, CircuitBreaker, StateChange
from tradingbot_components.runtime.recovery import RecoveryDeferred


class HalfOpenProber:
    """`await prober()` is the recovery handler; `on_state_change` must be registered as the breaker's listener."""

    def __init__(self, breaker: CircuitBreaker, probe: Callable[[], Awaitable[BreakerState]]) -> None:
        self._breaker = breaker
        self._probe = probe
        self.probes = 0
        self.last_change: StateChange | None = None

    def on_state_change(self, change: StateChange) -> None:
        self.last_change = change

    async def __call__(self) -> None:
        if self._breaker.state is BreakerState.CLOSED:
            return
        delay = self._breaker.retry_after()
        if delay > 0:
            raise RecoveryDeferred(f"circuit open: half-open probe in {delay:.1f}s", delay)
        self.probes += 1
        await self._probe()
