"""The gateway under injected exchange faults: the circuit opens (on a failure rate or a streak of
failures) and closes (seen in /readyz and metrics), and an AddOrder with a client id that meets a 520 or a
timeout is placed exactly once."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.integration.components.connectivity.stack import Stack
from tests.support.waiting import wait_until

LIMIT_BUY = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "1000.0", "volume": "0.01"}


def readiness(stack: Stack) -> tuple[int, list[str]]:
    reply = stack.gateway.get("/readyz")
    return reply.status, [reason["message"] for reason in reply.json["reasons"]]


def test_the_circuit_opens_while_the_exchange_is_unavailable_and_closes_after(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(breaker={"failure_threshold": 3, "recovery_timeout": 1.0})
    stack.sim.fault("unavailable")
    failed = stack.private("Balance")
    assert failed.json["error"] == ["EService:Unavailable"]
    assert failed.status == 200  # Kraken's own answer, passed through

    def circuit_open() -> list[str] | None:
        status, reasons = readiness(stack)
        return reasons if status == 503 else None

    reasons = wait_until(circuit_open, timeout=10, what="the gateway to report the open circuit")
    assert any("exchange-circuit is unhealthy" in r and "circuit open" in r for r in reasons), reasons
    assert stack.metric("kraken_breaker_state", breaker="kraken-rest", state="open") == 1.0
    refused = stack.private("Balance")
    assert refused.status == 503 and refused.json["error"][0].startswith("EGateway:Circuit open")
    assert stack.metric("tradingbot_gateway_calls_total", method="Balance", outcome="circuit_open") == 1.0

    stack.sim.clear_faults()
    wait_until(lambda: readiness(stack)[0] == 200, timeout=15, what="the circuit to close after the fault")
    assert stack.metric("kraken_breaker_state", breaker="kraken-rest", state="closed") == 1.0
    assert (
        stack.metric("kraken_breaker_transitions_total", breaker="kraken-rest", state="half_open") or 0
    ) >= 1
    assert stack.gateway.get("/healthz").json["gateway"]["circuit"]["probes"] >= 1
    assert stack.private("Balance").json["error"] == []


def test_an_outage_after_a_busy_minute_opens_the_circuit(stack_factory: Callable[..., Stack]) -> None:
    """Issue 12: 40 successes keep the window's failure rate low, so only the streak of failures can open
    the circuit; it opens at the 5th and no further order reaches the unwell exchange."""
    stack = stack_factory(breaker={"failure_threshold": 5, "recovery_timeout": 60.0})
    check_order = {**LIMIT_BUY, "validate": True}  # a private call off the REST counter: no pacing waits
    for _ in range(40):
        answer = stack.private("AddOrder", check_order)
        assert answer.json["error"] == [], answer.body
    assert stack.gateway.get("/healthz").json["gateway"]["circuit"]["calls_in_window"] == 40

    stack.sim.fault("unavailable", scope="private")
    answers = [stack.private("AddOrder", check_order) for _ in range(4)]  # up to 12 exchange answers
    assert answers[0].json["error"] == ["EService:Unavailable"]  # resent twice, all failed
    assert answers[-1].status == 503 and answers[-1].json["error"][0].startswith("EGateway:Circuit open")
    assert stack.sim.stats()["requests"]["AddOrder"] == 40 + 5

    status, reasons = readiness(stack)
    assert status == 503
    assert any("circuit open (consecutive_failures)" in r for r in reasons), reasons
    assert stack.metric("kraken_breaker_state", breaker="kraken-rest", state="open") == 1.0


def test_circuit_settings_change_without_a_restart(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory(breaker={"failure_threshold": 3, "recovery_timeout": 1.0})
    config = stack.workdir / "gateway.json"
    text = config.read_text().replace('"recovery_timeout": 1.0', '"recovery_timeout": 7.5')
    config.write_text(text)

    def applied() -> bool:
        settings = stack.gateway.get("/healthz").json["gateway"]["circuit"]["settings"]
        return settings["recovery_timeout"] == 7.5

    wait_until(applied, timeout=10, what="the new recovery_timeout to reach the breaker")


def orders_with(stack: Stack, cl_ord_id: str) -> list[str]:
    reply = stack.private("OpenOrders", {"cl_ord_id": cl_ord_id})
    assert reply.json["error"] == [], reply.body
    return list(reply.json["result"]["open"])


def test_an_add_order_with_a_client_id_survives_a_520_exactly_once(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory()
    stack.sim.fault("http_error", status=520, count=1, scope="private")
    placed = stack.private("AddOrder", {**LIMIT_BUY, "cl_ord_id": "retry-520"})
    assert placed.status == 200 and placed.json["error"] == [], placed.body
    assert orders_with(stack, "retry-520") == placed.json["result"]["txid"]
    assert stack.sim.stats()["orders"]["placed"] == 1
    assert stack.metric("tradingbot_gateway_retries_total", method="AddOrder", reason="uncertain") == 1.0


def test_an_add_order_with_a_client_id_survives_a_timeout_exactly_once(
    stack_factory: Callable[..., Stack],
) -> None:
    """The first request is answered only after the gateway gave up on it: the gateway looks the order up,
    finds nothing, and sends it again; the late original then carries a stale nonce and is refused."""
    stack = stack_factory(gateway_env={"TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "1"})
    stack.sim.fault("latency", seconds=2.0, count=1, scope="private")
    placed = stack.private("AddOrder", {**LIMIT_BUY, "cl_ord_id": "retry-timeout"})
    assert placed.json["error"] == [], placed.body
    txids = placed.json["result"]["txid"]

    def settled() -> bool:  # the delayed original has been processed (and refused)
        return (
            stack.sim.stats()["requests"].get("AddOrder", 0) == 2
            and stack.sim.stats()["nonce_rejections"] == 1
        )

    wait_until(settled, timeout=10, what="the delayed original to reach the simulator")
    assert orders_with(stack, "retry-timeout") == txids
    assert stack.sim.stats()["orders"]["placed"] == 1


def test_a_plain_add_order_is_not_resent_after_a_520(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    stack.sim.fault("http_error", status=520, count=1, scope="private")
    answer = stack.private("AddOrder", LIMIT_BUY)
    assert answer.status == 502 and answer.json["error"][0].startswith("EGateway:Exchange failure:HTTP 520")
    assert stack.sim.stats()["requests"]["AddOrder"] == 1


def test_a_lockout_pauses_private_calls_visibly_and_the_gateway_stays_ready(
    stack_factory: Callable[..., Stack],
) -> None:
    """Kraken's lockout is not an outage: the gateway stays ready (public calls work, private ones wait for
    the pause to end) and says so in /healthz and its metrics instead of failing silently for 15 minutes."""
    stack = stack_factory()
    stack.sim.fault("lockout")
    assert stack.private("Balance").json["error"] == ["EGeneral:Temporary lockout"]

    def reported() -> dict | None:
        rate = stack.gateway.get("/healthz").json["health"]["components"]["exchange-rate"]
        return rate if rate["status"] == "degraded" else None

    rate = wait_until(reported, timeout=10, what="the gateway to report the paused calls")
    assert re.fullmatch(
        r"rest calls paused for (8[5-9]\d|900)s more: Kraken answered EGeneral:Temporary lockout",
        rate["message"],
    ), rate["message"]
    assert rate["critical"] is False
    assert readiness(stack)[0] == 200
    blocked = stack.metric("kraken_rate_counter_blocked_seconds", governor="gateway", counter="rest")
    assert blocked is not None and 850 < blocked <= 900
    assert stack.public("Time").json["error"] == []
