"""In-process recovery in real processes: the gateway's open circuit is closed by the health monitor's
recovery handler (the half-open probe), and auth fetches a WebSocket token again after a failed fetch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.components.connectivity.stack import Stack
from tests.integration.components.process import ComponentProcess
from tests.support.waiting import wait_until


def recovery(process: ComponentProcess, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = process.get("/healthz").json["health"]["recoveries"][name]
    return entry


def component(process: ComponentProcess, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = process.get("/healthz").json["health"]["components"][name]
    return entry


def test_the_circuit_is_closed_by_its_recovery_handler(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(breaker={"failure_threshold": 2, "recovery_timeout": 2.0})
    stack.sim.fault("unavailable", count=2)  # a read is resent once: both attempts fail, the circuit opens
    assert stack.private("Balance").json["error"] == ["EService:Unavailable"]
    assert stack.gateway.get("/readyz").status == 503
    deferred = wait_until(
        lambda: (r := recovery(stack.gateway, "exchange-circuit"))["last_result"] and r,
        timeout=10,
        what="the recovery handler to have run",
    )
    assert deferred["max_attempts"] is None

    wait_until(lambda: stack.gateway.get("/readyz").status == 200, timeout=15, what="the circuit to close")
    assert (
        stack.metric("tradingbot_recovery_attempts_total", component="exchange-circuit", outcome="ok") == 1.0
    )
    assert stack.gateway.get("/healthz").json["gateway"]["circuit"]["probes"] == 1
    assert any("recovery of exchange-circuit: attempt 1 ran" in e["message"] for e in stack.gateway.logs())


def test_a_failed_websocket_token_fetch_is_recovered_by_auth(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    stack.sim.fault("unavailable", scope="private", count=3)  # every retry of one fetch
    refused = stack.auth.get("/v1/ws-token")
    assert refused.status >= 500, refused.body
    assert stack.auth.get("/readyz").status == 200  # not critical: signing still works

    wait_until(
        lambda: component(stack.auth, "ws-token")["status"] == "healthy",
        timeout=15,
        what="ws-token recovered without anyone asking again",
    )
    assert stack.auth.get("/healthz").json["auth"]["ws_token"]["fetched"] == 1
    metrics = stack.auth.get("/metrics").body
    assert 'tradingbot_recovery_attempts_total{component="ws-token",outcome="ok"} 1.0' in metrics
    assert stack.auth.get("/v1/ws-token").status == 200
    assert stack.auth.get("/healthz").json["auth"]["ws_token"]["fetched"] == 1  # served from the cache
