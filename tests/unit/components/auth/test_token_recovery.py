"""A failed WebSocket token fetch is reported (`on_result`) and fetched again by `refresh`, the `ws-token`
recovery handler; the background loop does not retry on its own."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.components.auth.fakes import Claim, MemoryNonceStore, ScriptedTransport, credentials
from tradingbot_components.auth.signer import Signer
from tradingbot_components.auth.ws_token import TokenPolicy, TokenUnavailable, WsTokenProvider
from tradingbot_components.runtime import HealthMonitor, HealthStatus

UNAVAILABLE = (200, {"error": ["EService:Unavailable"]})
OK = (200, {"error": [], "result": {"token": "tok-1", "expires": 900}})


async def test_a_failed_fetch_is_reported_and_the_monitor_recovers_it() -> None:
    signer = Signer(credentials(), MemoryNonceStore(), Claim())  # type: ignore[arg-type]
    await signer.load_mark()
    transport = ScriptedTransport([UNAVAILABLE, UNAVAILABLE, OK])
    monitor = HealthMonitor(registry=CollectorRegistry())
    monitor.register_component("ws-token", critical=False)
    results: list[str | None] = []

    def report(error: str | None) -> None:
        results.append(error)
        status = HealthStatus.HEALTHY if error is None else HealthStatus.UNHEALTHY
        monitor.update_component_status("ws-token", status, message=error)

    tokens = WsTokenProvider(
        signer,
        transport,  # type: ignore[arg-type]
        policy=TokenPolicy(attempts=2),
        on_result=report,
    )
    monitor.register_recovery("ws-token", tokens.refresh)

    with pytest.raises(TokenUnavailable, match="EService:Unavailable"):
        await tokens.get()
    assert monitor.component("ws-token").status is HealthStatus.UNHEALTHY
    await monitor.check_now()  # the monitor's pass: the first recovery attempt runs at once

    assert monitor.component("ws-token").status is HealthStatus.HEALTHY
    assert results == [results[0], None] and results[0] is not None
    assert tokens.fetched == 1 and len(transport.sent) == 3
    await tokens.refresh()  # a fresh token is cached: nothing is sent
    assert len(transport.sent) == 3
