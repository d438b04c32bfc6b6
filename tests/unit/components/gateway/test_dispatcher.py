"""The call loop on virtual time: one writer for private calls, retries by the policy, reconciliation of
client-id orders, the circuit, and what the governor is told."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.components.gateway.fakes import Rig, envelope, no_answer
from tradingbot_components.gateway.metrics import CallOutcome
from tradingbot_components.kraken.breaker import BreakerState
from tradingbot_components.kraken.transport import TransportFailure

ADD = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "50000", "volume": "0.01"}
OPEN_ORDER = {"cl_ord_id": "bot-1", "descr": {"order": "buy 0.01 XBTUSD @ limit 50000.0"}}


async def test_concurrent_private_calls_leave_one_at_a_time_in_nonce_order() -> None:
    rig = Rig()
    answers = await asyncio.gather(*(rig.dispatcher.private("Balance", {}) for _ in range(30)))
    assert all(a.status == 200 and a.outcome is CallOutcome.OK for a in answers)
    assert rig.exchange.most_in_flight == 1
    nonces = [int(body.removeprefix("nonce=")) for _, body in rig.exchange.sent]
    assert nonces == sorted(nonces)
    # 15 fit at once, the other 15 wait for decay at 0.33 points/s
    assert rig.time.now - 1000.0 == pytest.approx(15 / 0.33, rel=0.01)


async def test_kraken_s_business_errors_pass_through_untouched() -> None:
    rig = Rig()
    rig.exchange.script("AddOrder", envelope("EOrder:Insufficient funds"))
    answer = await rig.dispatcher.private("AddOrder", ADD)
    assert answer.status == 200 and answer.body == {"error": ["EOrder:Insufficient funds"], "result": {}}
    assert answer.outcome is CallOutcome.KRAKEN_ERROR and answer.attempts == 1
    assert rig.breaker.state is BreakerState.CLOSED


async def test_an_invalid_nonce_is_resent_with_a_fresh_signature_even_for_a_plain_add_order() -> None:
    rig = Rig()
    rig.exchange.script("AddOrder", envelope("EAPI:Invalid nonce"))
    answer = await rig.dispatcher.private("AddOrder", ADD)
    assert answer.outcome is CallOutcome.OK and answer.attempts == 2
    first, second = (body for _, body in rig.exchange.sent)
    assert first != second and len(rig.auth.requests) == 2
    assert rig.metric("tradingbot_gateway_retries_total", method="AddOrder", reason="refused_nonce") == 1


async def test_a_read_is_resent_after_transient_failures_with_backoff() -> None:
    rig = Rig(minimum_calls=10)
    rig.exchange.script("Balance", (520, "error code: 520"), envelope("EService:Busy"))
    answer = await rig.dispatcher.private("Balance", {})
    assert answer.outcome is CallOutcome.OK and answer.attempts == 3
    assert [s for s in rig.time.slept if s in (0.25, 0.5)] == [0.25, 0.5]


async def test_a_plain_add_order_is_never_resent_once_it_may_have_arrived() -> None:
    rig = Rig()
    rig.exchange.script("AddOrder", no_answer(TransportFailure.TIMEOUT))
    answer = await rig.dispatcher.private("AddOrder", ADD)
    assert answer.status == 504 and answer.outcome is CallOutcome.EXCHANGE_FAILURE
    assert "outcome is unknown" in answer.body["error"][0]
    assert rig.exchange.methods() == ["AddOrder"]


async def test_an_unreachable_exchange_is_resent_even_for_mutating_calls() -> None:
    rig = Rig(minimum_calls=10)
    rig.exchange.script("CancelAll", no_answer(TransportFailure.CONNECT))
    answer = await rig.dispatcher.private("CancelAll", {})
    assert answer.outcome is CallOutcome.OK and rig.exchange.methods() == ["CancelAll", "CancelAll"]


async def test_a_client_id_order_is_looked_up_before_it_is_resent_and_found() -> None:
    rig = Rig()
    rig.exchange.script("AddOrder", (520, "error code: 520"))
    rig.exchange.script("OpenOrders", envelope(result={"open": {"OABC-1": OPEN_ORDER}}))
    answer = await rig.dispatcher.private("AddOrder", {**ADD, "cl_ord_id": "bot-1"})
    assert rig.exchange.methods() == ["AddOrder", "OpenOrders"]  # found: not sent again
    assert answer.outcome is CallOutcome.OK and answer.headers["X-Gateway-Reconciled"] == "OABC-1"
    assert float(answer.headers["X-Gateway-Wait"]) >= 0
    assert answer.body["result"]["txid"] == ["OABC-1"]


async def test_a_client_id_order_that_does_not_exist_is_resent_once_both_lists_say_so() -> None:
    rig = Rig()
    rig.exchange.script(
        "AddOrder", no_answer(TransportFailure.TIMEOUT), envelope(result={"txid": ["ONEW-1"]})
    )
    answer = await rig.dispatcher.private("AddOrder", {**ADD, "cl_ord_id": "bot-1"})
    assert rig.exchange.methods() == ["AddOrder", "OpenOrders", "ClosedOrders", "AddOrder"]
    assert answer.body["result"]["txid"] == ["ONEW-1"] and answer.attempts == 2


async def test_a_duplicate_refusal_after_an_uncertain_attempt_answers_with_the_existing_order() -> None:
    rig = Rig()
    rig.exchange.script(
        "AddOrder", no_answer(TransportFailure.DISCONNECTED), envelope("EOrder:Duplicate order")
    )
    rig.exchange.script(
        "OpenOrders", envelope(result={"open": {}}), envelope(result={"open": {"OABC-1": OPEN_ORDER}})
    )
    answer = await rig.dispatcher.private("AddOrder", {**ADD, "cl_ord_id": "bot-1"})
    assert answer.body["result"]["txid"] == ["OABC-1"]


async def test_a_failed_lookup_means_no_resend() -> None:
    rig = Rig(minimum_calls=10)
    rig.exchange.script("AddOrder", (520, "error code: 520"))
    rig.exchange.script("OpenOrders", *[(520, "error code: 520")] * 3)
    answer = await rig.dispatcher.private("AddOrder", {**ADD, "cl_ord_id": "bot-1"})
    assert rig.exchange.methods().count("AddOrder") == 1
    assert answer.status == 502 and answer.outcome is CallOutcome.EXCHANGE_FAILURE


async def test_auth_unavailable_is_retried_then_reported_without_touching_the_exchange() -> None:
    rig = Rig()
    rig.auth.unavailable = 1
    assert (await rig.dispatcher.private("Balance", {})).outcome is CallOutcome.OK
    rig.auth.unavailable = 3
    answer = await rig.dispatcher.private("Balance", {})
    assert answer.status == 503 and answer.outcome is CallOutcome.AUTH_UNAVAILABLE
    assert answer.body["error"][0].startswith("EGateway:Auth unavailable:")
    assert rig.exchange.methods() == ["Balance"]
    assert rig.breaker.state is BreakerState.CLOSED


async def test_params_auth_cannot_encode_are_a_400() -> None:
    rig = Rig()
    rig.auth.reject = "volume=0.1 is a float"
    answer = await rig.dispatcher.private("AddOrder", {"volume": 0.1})
    assert answer.status == 400 and answer.attempts == 0
    assert answer.body["error"] == ["EGeneral:Invalid arguments:volume=0.1 is a float"]


async def test_the_breaker_opens_under_unavailable_and_refuses_until_a_probe_succeeds() -> None:
    rig = Rig(minimum_calls=3)
    rig.exchange.script("Balance", *[envelope("EService:Unavailable")] * 3)
    answer = await rig.dispatcher.private("Balance", {})
    assert answer.body["error"] == ["EService:Unavailable"] and answer.attempts == 3
    assert rig.breaker.state is BreakerState.OPEN
    refused = await rig.dispatcher.private("Balance", {})
    assert refused.status == 503 and refused.outcome is CallOutcome.CIRCUIT_OPEN
    assert refused.headers["Retry-After"] == "5" and refused.attempts == 0
    assert await rig.dispatcher.probe() is BreakerState.OPEN  # too early: no probe sent
    rig.time.advance(5)
    assert await rig.dispatcher.probe() is BreakerState.CLOSED
    assert rig.exchange.methods()[-1] == "Time"
    assert (await rig.dispatcher.private("Balance", {})).outcome is CallOutcome.OK


async def test_a_failed_probe_keeps_the_circuit_open() -> None:
    rig = Rig(minimum_calls=1)
    rig.exchange.script("Time", envelope("EService:Unavailable"), envelope("EService:Unavailable"))
    await rig.dispatcher.public("Time")
    assert rig.breaker.state is BreakerState.OPEN
    rig.time.advance(5)
    assert await rig.dispatcher.probe() is BreakerState.OPEN


async def test_rate_limits_feed_the_governor_adaptively_or_as_a_short_pause() -> None:
    rig = Rig()
    rig.exchange.script("Balance", envelope("EAPI:Rate limit exceeded"))
    await rig.dispatcher.private("Balance", {})
    assert rig.governor.effective_max() < 15  # adaptive: the cap came down
    plain = Rig(adaptive=False)
    plain.exchange.script("Balance", envelope("EAPI:Rate limit exceeded"))
    answer = await plain.dispatcher.private("Balance", {})
    assert answer.outcome is CallOutcome.OK
    assert plain.governor.effective_max() == 15
    assert any(s == pytest.approx(1.0) for s in plain.time.slept)  # paused a second before resending


async def test_public_calls_are_charged_to_the_public_counter() -> None:
    rig = Rig()
    await rig.dispatcher.public("Ticker", "pair=XBTUSD")
    await rig.dispatcher.public("BrandNewPublicMethod")
    assert rig.exchange.sent == [("Ticker", "pair=XBTUSD"), ("BrandNewPublicMethod", "")]
    assert rig.governor.level() == 0  # the private REST counter was not touched
    assert rig.time.now - 1000.0 == pytest.approx(1.0)  # 1 call/s on the public counter
    assert rig.metric("tradingbot_gateway_calls_total", method="Ticker", outcome="ok") == 1
