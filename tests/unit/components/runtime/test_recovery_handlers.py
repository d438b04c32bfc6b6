"""Recovery handlers the components register: a handler may defer (no attempt spent, called again after the
delay it names), a budget of None never gives up, and `/healthz` shows each recovery's state."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.components.runtime.test_health import FakeClock, Switch
from tradingbot_components.runtime import AlertReason, HealthMonitor, HealthStatus, RecoveryDeferred


def attempts(registry: CollectorRegistry, outcome: str) -> float | None:
    return registry.get_sample_value(
        "tradingbot_recovery_attempts_total", {"component": "circuit", "outcome": outcome}
    )


async def test_a_deferring_handler_spends_no_attempt_and_is_called_when_it_said(
    monitor: HealthMonitor, clock: FakeClock, registry: CollectorRegistry
) -> None:
    circuit = Switch(HealthStatus.UNHEALTHY)
    opens_at = clock.now + 30
    calls: list[float] = []

    def probe() -> None:
        calls.append(clock.now)
        if clock.now < opens_at:
            raise RecoveryDeferred("circuit open", opens_at - clock.now)
        circuit.status = HealthStatus.HEALTHY

    monitor.register_check("circuit", circuit)
    monitor.register_recovery("circuit", probe, max_attempts=1)

    await monitor.check_now()
    recovery = monitor.snapshot()["recoveries"]["circuit"]
    assert (recovery["attempts"], recovery["next_attempt_in"]) == (0, 30)
    assert recovery["last_result"] == "deferred: circuit open"
    clock.advance(29)
    await monitor.check_now()
    assert len(calls) == 1, "not called before the delay it asked for"
    clock.advance(1)
    await monitor.check_now()  # the one real attempt: it closes the circuit
    await monitor.check_now()

    assert calls == [opens_at - 30, opens_at]
    assert monitor.component("circuit").status is HealthStatus.HEALTHY
    assert attempts(registry, "ok") == 1
    assert not [a for a in monitor.alerts if a.reason is AlertReason.RECOVERY_EXHAUSTED]


async def test_a_budget_of_none_keeps_trying_while_unhealthy(
    monitor: HealthMonitor, clock: FakeClock, registry: CollectorRegistry
) -> None:
    circuit = Switch(HealthStatus.UNHEALTHY)
    calls = 0

    def probe() -> None:
        nonlocal calls
        calls += 1

    monitor.register_check("circuit", circuit)
    monitor.register_recovery("circuit", probe, max_attempts=None, backoff_base=1, backoff_max=2)
    for _ in range(20):
        await monitor.check_now()
        clock.advance(2)

    assert calls == 20
    assert attempts(registry, "ok") == 20
    assert monitor.snapshot()["recoveries"]["circuit"]["exhausted"] is False
    assert not [a for a in monitor.alerts if a.reason is AlertReason.RECOVERY_EXHAUSTED]


def test_a_negative_deferral_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="delay must be >= 0"):
        RecoveryDeferred("no", -1)
