"""The half-open prober is the circuit's recovery handler in the health monitor: nothing while closed, a
deferral (no attempt spent) until the recovery timeout has passed, then the probe, until the circuit closes."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tradingbot_components.gateway.probing import HalfOpenProber
from tradingbot_components.gateway.settings import CIRCUIT_CHECK, circuit_health
from tradingbot_components.kraken.breaker import BreakerSettings, BreakerState, CallVerdict, CircuitBreaker
from tradingbot_components.runtime import CheckResult, HealthMonitor, HealthStatus, RecoveryDeferred


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def open_breaker(clock: Clock) -> CircuitBreaker:
    breaker = CircuitBreaker("t", BreakerSettings(minimum_calls=1, recovery_timeout=30), clock=clock)
    assert breaker.allow()
    breaker.record(CallVerdict.FAILURE)
    assert breaker.state is BreakerState.OPEN
    return breaker


async def test_closed_does_nothing_and_open_defers_until_the_recovery_timeout() -> None:
    clock = Clock()
    breaker = CircuitBreaker("t", BreakerSettings(minimum_calls=1, recovery_timeout=30), clock=clock)
    probes: list[float] = []

    async def probe() -> BreakerState:
        probes.append(clock.now)
        return breaker.state

    prober = HalfOpenProber(breaker, probe)
    await prober()  # closed
    assert breaker.allow()
    breaker.record(CallVerdict.FAILURE)
    with pytest.raises(RecoveryDeferred) as later:
        await prober()
    assert later.value.delay == pytest.approx(30)
    assert probes == [] and prober.probes == 0


async def test_the_monitor_probes_an_open_circuit_until_it_closes() -> None:
    clock = Clock()
    breaker = open_breaker(clock)
    outcomes = [CallVerdict.FAILURE, CallVerdict.SUCCESS]
    probed_at: list[float] = []

    async def probe() -> BreakerState:
        if breaker.allow():
            probed_at.append(clock.now)
            breaker.record(outcomes.pop(0))
        return breaker.state

    async def check() -> CheckResult:
        return circuit_health(breaker.state, breaker.retry_after())

    prober = HalfOpenProber(breaker, probe)
    breaker.add_listener(prober.on_state_change)
    monitor = HealthMonitor(registry=CollectorRegistry(), now=clock)
    monitor.register_check(CIRCUIT_CHECK, check, interval=1.0)
    monitor.register_recovery(CIRCUIT_CHECK, prober, max_attempts=None, backoff_base=1.0, backoff_max=1.0)

    for _ in range(70):
        await monitor.check_now()
        clock.now += 1

    assert probed_at == [130.0, 160.0]  # each after a full recovery timeout; the first failed
    assert prober.probes == 2
    assert monitor.component(CIRCUIT_CHECK).status is HealthStatus.HEALTHY
    assert prober.last_change is not None and prober.last_change.current is BreakerState.CLOSED
