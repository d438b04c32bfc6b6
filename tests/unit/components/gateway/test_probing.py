"""The half-open prober: sleeps while closed, waits out the recovery timeout, then probes."""

from __future__ import annotations

import asyncio
import contextlib

from tradingbot_components.gateway.probing import HalfOpenProber
from tradingbot_components.kraken.breaker import BreakerSettings, BreakerState, CallVerdict, CircuitBreaker


async def test_an_open_circuit_is_probed_after_the_recovery_timeout_and_closes() -> None:
    breaker = CircuitBreaker(
        "t", BreakerSettings(minimum_calls=1, recovery_timeout=0.05), clock=asyncio.get_running_loop().time
    )
    probes: list[BreakerState] = []
    healthy = asyncio.Event()

    async def probe() -> BreakerState:
        if breaker.allow():
            breaker.record(CallVerdict.SUCCESS if probes else CallVerdict.FAILURE)
        probes.append(breaker.state)
        if breaker.state is BreakerState.CLOSED:
            healthy.set()
        return breaker.state

    prober = HalfOpenProber(breaker, probe, failure_pause=0.01)
    breaker.add_listener(prober.on_state_change)
    task = asyncio.create_task(prober.run())
    try:
        await asyncio.sleep(0)
        assert prober.probes == 0  # closed: nothing to do
        assert breaker.allow()
        breaker.record(CallVerdict.FAILURE)
        assert breaker.state is BreakerState.OPEN
        async with asyncio.timeout(5):
            await healthy.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert probes == [BreakerState.OPEN, BreakerState.CLOSED]  # the first probe failed, the second closed it
    assert prober.last_change is not None and prober.last_change.current is BreakerState.CLOSED
