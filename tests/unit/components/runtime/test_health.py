"""The health monitor: cascading, overall status, recovery with backoff, alerts, metrics, snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from tests.support.waiting import async_wait_until
from tradingbot_components.runtime import (
    Alert,
    AlertReason,
    AlertSeverity,
    CheckResult,
    HealthConfigError,
    HealthMonitor,
    HealthStatus,
)

HEALTHY, DEGRADED, UNKNOWN, UNHEALTHY = (
    HealthStatus.HEALTHY,
    HealthStatus.DEGRADED,
    HealthStatus.UNKNOWN,
    HealthStatus.UNHEALTHY,
)


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Switch:
    """A check whose answer the test sets."""

    def __init__(self, status: HealthStatus = HEALTHY) -> None:
        self.status = status
        self.calls = 0

    async def __call__(self) -> HealthStatus:
        self.calls += 1
        return self.status


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


# -- cascading -------------------------------------------------------------------------------------


async def test_an_unhealthy_dependency_degrades_the_chain_and_names_the_deepest_cause(
    monitor: HealthMonitor,
) -> None:
    storage, auth, gateway, trader = Switch(UNHEALTHY), Switch(), Switch(), Switch()
    monitor.register_check("storage", storage)
    monitor.register_check("auth", auth, depends_on=["storage"])
    monitor.register_check("gateway", gateway, depends_on=["auth"])
    monitor.register_check("trader", trader, depends_on=["gateway"])

    views = await monitor.check_now()

    assert views["storage"].status is UNHEALTHY
    assert views["storage"].root_cause is None
    for name in ("auth", "gateway", "trader"):
        assert (views[name].status, views[name].own_status, views[name].root_cause) == (
            DEGRADED,
            HEALTHY,
            "storage",
        )


async def test_the_root_cause_is_the_deepest_unhealthy_component(monitor: HealthMonitor) -> None:
    monitor.register_check("storage", Switch(UNHEALTHY))
    monitor.register_check("auth", Switch(UNHEALTHY), depends_on=["storage"])
    monitor.register_check("trader", Switch(), depends_on=["auth"])

    views = await monitor.check_now()

    assert (views["auth"].status, views["auth"].root_cause) == (UNHEALTHY, "storage")
    assert (views["trader"].status, views["trader"].root_cause) == (DEGRADED, "storage")


async def test_pushed_statuses_cascade_too(monitor: HealthMonitor) -> None:
    monitor.register_component("exchange")
    monitor.register_check("gateway", Switch(), depends_on=["exchange"])
    await monitor.check_now()

    monitor.update_component_status(
        "exchange", UNHEALTHY, {"http_status": 503}, message="503 from /0/public/Time"
    )

    gateway = monitor.component("gateway")
    assert (gateway.status, gateway.root_cause) == (DEGRADED, "exchange")
    assert monitor.component("exchange").details == {"http_status": 503}


async def test_a_dependency_cycle_is_rejected_with_its_path(monitor: HealthMonitor) -> None:
    monitor.register_check("a", Switch(), depends_on=["b"])
    monitor.register_check("b", Switch(), depends_on=["a"])
    with pytest.raises(HealthConfigError, match="health depends_on cycle: a -> b -> a"):
        await monitor.check_now()


async def test_an_unknown_dependency_is_rejected(monitor: HealthMonitor) -> None:
    monitor.register_check("trader", Switch(), depends_on=["gatewy"])
    with pytest.raises(HealthConfigError, match="'trader' depends on unknown component 'gatewy'"):
        await monitor.check_now()


# -- check outcomes and overall --------------------------------------------------------------------


async def test_a_raising_or_slow_check_is_unhealthy_with_a_reason(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    monitor = HealthMonitor(registry=registry, now=clock, check_timeout=0.05)

    async def refuses() -> HealthStatus:
        raise ConnectionRefusedError("127.0.0.1:5432")

    async def hangs() -> HealthStatus:
        await asyncio.Event().wait()
        return HEALTHY

    async def explains() -> CheckResult:
        return CheckResult(DEGRADED, "rate limited", {"retry_after": 2})

    monitor.register_check("db", refuses)
    monitor.register_check("ws", hangs)
    monitor.register_check("rest", explains)

    views = await monitor.check_now()

    assert (views["db"].status, views["db"].message) == (
        UNHEALTHY,
        "check raised ConnectionRefusedError: 127.0.0.1:5432",
    )
    assert (views["ws"].status, views["ws"].message) == (UNHEALTHY, "check timed out after 0.05s")
    assert (views["rest"].status, views["rest"].details) == (DEGRADED, {"retry_after": 2})


async def test_overall_is_the_worst_critical_status(monitor: HealthMonitor) -> None:
    monitor.register_check("storage", Switch(HEALTHY))
    monitor.register_check("gateway", Switch(DEGRADED))
    monitor.register_check("metrics-push", Switch(UNHEALTHY), critical=False)

    assert monitor.overall() is UNKNOWN  # nothing has been checked yet
    await monitor.check_now()
    assert monitor.overall() is DEGRADED

    monitor.update_component_status("gateway", HEALTHY)
    assert monitor.overall() is HEALTHY


# -- recovery --------------------------------------------------------------------------------------


async def test_recovery_backs_off_exponentially_and_alerts_when_the_budget_is_spent(
    monitor: HealthMonitor, clock: FakeClock, registry: CollectorRegistry
) -> None:
    gateway = Switch(UNHEALTHY)
    recoveries: list[float] = []
    monitor.register_check("gateway", gateway)
    monitor.register_recovery(
        "gateway", lambda: recoveries.append(clock.now), max_attempts=3, backoff_base=10, backoff_max=15
    )
    start = clock.now

    await monitor.check_now()  # turns unhealthy: first attempt at once
    for step in (5, 5, 15, 14, 1):  # backoffs are 10, then 20 capped to 15, then 15 before giving up
        clock.advance(step)
        await monitor.check_now()

    assert [t - start for t in recoveries] == [0, 10, 25]
    exhausted = [a for a in monitor.alerts if a.reason is AlertReason.RECOVERY_EXHAUSTED]
    assert len(exhausted) == 1
    assert exhausted[0].severity is AlertSeverity.CRITICAL
    assert exhausted[0].time == start + 40
    assert metric(registry, "tradingbot_recovery_attempts_total", component="gateway", outcome="ok") == 3

    clock.advance(1_000)
    await monitor.check_now()
    assert len(recoveries) == 3, "no attempts once the budget is spent"


async def test_recovery_resets_once_the_component_is_healthy_again(
    monitor: HealthMonitor, clock: FakeClock, registry: CollectorRegistry
) -> None:
    gateway = Switch(UNHEALTHY)
    calls = 0

    async def reconnect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("still down")
        gateway.status = HEALTHY

    monitor.register_check("gateway", gateway)
    monitor.register_recovery("gateway", reconnect, max_attempts=2, backoff_base=1)

    await monitor.check_now()
    clock.advance(1)
    await monitor.check_now()  # second attempt fixes it
    await monitor.check_now()

    assert monitor.component("gateway").status is HEALTHY
    reasons = [a.reason for a in monitor.alerts]
    assert reasons == [AlertReason.RECOVERED, AlertReason.RECOVERY_FAILED, AlertReason.UNHEALTHY]
    assert metric(registry, "tradingbot_recovery_attempts_total", component="gateway", outcome="error") == 1

    gateway.status = UNHEALTHY  # a new outage gets a fresh budget
    await monitor.check_now()
    assert calls == 3


# -- alerts, metrics, snapshot ---------------------------------------------------------------------


async def test_alerts_are_newest_first_bounded_and_sent_to_callbacks(
    clock: FakeClock, registry: CollectorRegistry
) -> None:
    monitor = HealthMonitor(registry=registry, now=clock, alert_capacity=2)
    seen: list[Alert] = []
    async_seen: list[Alert] = []

    async def page(alert: Alert) -> None:
        async_seen.append(alert)

    monitor.add_alert_callback(seen.append)
    monitor.add_alert_callback(page)
    for status in (UNHEALTHY, HEALTHY, UNHEALTHY):
        clock.advance(1)
        monitor.update_component_status("auth", status)

    assert [(a.reason, a.time) for a in monitor.alerts] == [
        (AlertReason.UNHEALTHY, 1003),
        (AlertReason.RECOVERED, 1002),
    ]
    assert len(seen) == 3
    assert (
        metric(registry, "tradingbot_alerts_total", component="auth", severity="critical", reason="Unhealthy")
        == 2
    )

    async def all_delivered() -> bool:
        return len(async_seen) == 3

    await async_wait_until(all_delivered, timeout=5, what="the async alert callback")


async def test_status_gauge_marks_the_current_status(
    monitor: HealthMonitor, registry: CollectorRegistry
) -> None:
    monitor.register_check("storage", Switch(DEGRADED))
    assert metric(registry, "tradingbot_component_status", component="storage", status="unknown") == 1

    await monitor.check_now()

    values = {
        s: metric(registry, "tradingbot_component_status", component="storage", status=s)
        for s in HealthStatus
    }
    assert values == {"healthy": 0, "degraded": 1, "unknown": 0, "unhealthy": 0}


async def test_many_monitors_can_share_a_process_each_with_its_own_metrics(clock: FakeClock) -> None:
    """The metric names are the same; each monitor writes only to its own registry."""
    registries = [CollectorRegistry() for _ in range(3)]
    statuses = [HEALTHY, UNHEALTHY, DEGRADED]
    for registry, status in zip(registries, statuses, strict=True):
        monitor = HealthMonitor(registry=registry, now=clock)
        monitor.register_check("storage", Switch(status))
        await monitor.check_now()
    for registry, status in zip(registries, statuses, strict=True):
        current = registry.get_sample_value(
            "tradingbot_component_status", {"component": "storage", "status": str(status)}
        )
        assert current == 1.0, (status, current)
        others = [s for s in statuses if s is not status]
        assert all(
            registry.get_sample_value(
                "tradingbot_component_status", {"component": "storage", "status": str(o)}
            )
            in (0.0, None)
            for o in others
        )


async def test_snapshot_is_json_serialisable(monitor: HealthMonitor) -> None:
    monitor.register_check("storage", Switch(UNHEALTHY))
    monitor.register_check("trader", Switch(), depends_on=["storage"])
    await monitor.check_now()

    document = json.loads(json.dumps(monitor.snapshot()))

    assert document["status"] == "unhealthy"
    assert document["components"]["trader"]["root_cause"] == "storage"
    assert document["alerts"][0]["reason"] in {"Unhealthy", "Degraded"}


# -- scheduling ------------------------------------------------------------------------------------


async def test_run_checks_periodically_and_adopts_a_new_interval_at_once(registry: CollectorRegistry) -> None:
    monitor = HealthMonitor(registry=registry, interval=3_600)
    storage = Switch()
    monitor.register_check("storage", storage)
    runner = asyncio.create_task(monitor.run())
    try:
        await _eventually(lambda: storage.calls == 1, "the first check")

        monitor.interval = 0.01  # hot reload: the loop must not wait out the old hour

        await _eventually(lambda: storage.calls >= 3, "checks at the new interval")
        assert monitor.component("storage").status is HEALTHY
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_run_honours_a_per_check_interval(registry: CollectorRegistry) -> None:
    monitor = HealthMonitor(registry=registry, interval=3_600)
    fast, slow = Switch(), Switch()
    monitor.register_check("fast", fast, interval=0.01)
    monitor.register_check("slow", slow)
    runner = asyncio.create_task(monitor.run())
    try:
        await _eventually(lambda: fast.calls >= 5, "the fast check to repeat")
        assert slow.calls == 1
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def _eventually(condition: Callable[[], bool], what: str) -> None:
    async def probe() -> bool:
        return condition()

    await async_wait_until(probe, timeout=5, interval=0.01, what=what)
