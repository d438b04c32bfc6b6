"""The probe routes in-process on a real socket: readiness decisions, a stale event loop failing `/livez`,
and `/metrics` from the component's own registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from tradingbot_components.config.manager import ConfigManager
from tradingbot_components.http import HttpServer, Lifecycle, LoopHeartbeat, NotReady, ProbeRoutes
from tradingbot_components.http.probes import decide_readiness
from tradingbot_components.runtime import ComponentHealth, HealthMonitor, HealthStatus, StartupSequence


def view(status: HealthStatus, *, critical: bool = True) -> ComponentHealth:
    return ComponentHealth(
        "db", status, status, critical, message="disk full" if status == "unhealthy" else None
    )


@pytest.mark.parametrize(
    ("lifecycle", "loaded", "error", "components", "reasons"),
    [
        (Lifecycle.RUNNING, True, None, {"db": view(HealthStatus.HEALTHY)}, []),
        (Lifecycle.RUNNING, True, None, {"db": view(HealthStatus.DEGRADED)}, []),
        (Lifecycle.RUNNING, True, None, {"db": view(HealthStatus.UNHEALTHY, critical=False)}, []),
        (Lifecycle.RUNNING, True, None, {"db": view(HealthStatus.UNKNOWN)}, [NotReady.UNHEALTHY]),
        (Lifecycle.RUNNING, True, None, {"db": view(HealthStatus.UNHEALTHY)}, [NotReady.UNHEALTHY]),
        (Lifecycle.STARTING, False, None, {}, [NotReady.STARTING, NotReady.CONFIG_NOT_LOADED]),
        (Lifecycle.STOPPING, True, None, {}, [NotReady.STOPPING]),
        (Lifecycle.FAILED, True, None, {}, [NotReady.STARTUP_FAILED]),
        (Lifecycle.RUNNING, True, "trading.profit_target: too big", {}, [NotReady.CONFIG_REJECTED]),
    ],
)
def test_decide_readiness(
    lifecycle: Lifecycle,
    loaded: bool,
    error: str | None,
    components: dict[str, ComponentHealth],
    reasons: list[NotReady],
) -> None:
    readiness = decide_readiness(lifecycle, config_loaded=loaded, config_error=error, components=components)
    assert [reason for reason, _ in readiness.reasons] == reasons
    assert readiness.ready is (not reasons)


def test_an_unhealthy_check_explains_itself() -> None:
    readiness = decide_readiness(
        Lifecycle.RUNNING,
        config_loaded=True,
        config_error=None,
        components={"db": view(HealthStatus.UNHEALTHY)},
    )
    assert readiness.to_dict()["reasons"] == [
        {"reason": "Unhealthy", "message": "db is unhealthy: disk full"}
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    url: str
    clock: Clock
    config: ConfigManager
    monitor: HealthMonitor
    state: list[Lifecycle]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    registry = CollectorRegistry()
    config = ConfigManager({"system": {"debug": True}}, environ={}, registry=registry)
    monitor = HealthMonitor(registry=registry)
    clock = Clock()
    heartbeat = LoopHeartbeat(max_age=5.0, clock=clock)
    state = [Lifecycle.RUNNING]
    server = HttpServer("127.0.0.1", 0)
    ProbeRoutes(
        component="probe-test",
        config=config,
        monitor=monitor,
        sequence=StartupSequence(),
        registry=registry,
        heartbeat=heartbeat,
        lifecycle=lambda: state[0],
        extra_status=lambda: {"extra": {"ok": True}},
    ).add_to(server.app)
    await server.start()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", clock, config, monitor, state)
    finally:
        await server.stop()


async def get(url: str) -> tuple[int, str, dict[str, object] | str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        kind = response.headers["Content-Type"]
        body = await response.json() if kind.startswith("application/json") else await response.text()
        return response.status, kind, body


async def test_livez_fails_when_the_heartbeat_is_stale(served: Served) -> None:
    status, _, body = await get(served.url + "/livez")
    assert status == 200 and body == {"live": True, "heartbeat_age": 0.0}
    served.clock.now += 6
    status, _, body = await get(served.url + "/livez")
    assert status == 503 and "heartbeat is 6.0s old" in body["reason"]  # type: ignore[index]


async def test_readyz_and_healthz_follow_health_and_config(served: Served) -> None:
    assert (await get(served.url + "/readyz"))[0] == 200
    served.monitor.update_component_status("db", HealthStatus.UNHEALTHY, message="disk full")
    status, _, body = await get(served.url + "/readyz")
    assert status == 503 and body["reasons"][0]["reason"] == "Unhealthy"  # type: ignore[index]
    status, _, health = await get(served.url + "/healthz")
    assert status == 503
    assert isinstance(health, dict)
    assert health["component"] == "probe-test" and health["extra"] == {"ok": True}
    assert health["health"]["components"]["db"]["message"] == "disk full"  # type: ignore[index]

    served.monitor.update_component_status("db", HealthStatus.HEALTHY)
    await served.config.update({"system": {"debug": "sometimes"}})
    status, _, body = await get(served.url + "/readyz")
    assert status == 503 and body["reasons"][0]["reason"] == "ConfigRejected"  # type: ignore[index]
    assert "system.debug" in body["reasons"][0]["message"]  # type: ignore[index]

    served.state[0] = Lifecycle.STOPPING
    await served.config.update({})
    status, _, body = await get(served.url + "/readyz")
    assert status == 503 and [r["reason"] for r in body["reasons"]] == ["Stopping"]  # type: ignore[index]


async def test_metrics_and_config(served: Served) -> None:
    status, kind, text = await get(served.url + "/metrics")
    assert status == 200 and kind.startswith("text/plain")
    assert "tradingbot_config_generation 1.0" in str(text)
    assert "process_cpu_seconds_total" not in str(text)  # not the global registry
    status, _, body = await get(served.url + "/config")
    assert body == {"generation": 1, "config": served.config.export()["config"]}
