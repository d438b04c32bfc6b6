"""Whether a call is sent again: from what its last attempt says about the request's fate."""

from __future__ import annotations

import json

import pytest

from tradingbot_components.gateway.calls import CallKind
from tradingbot_components.gateway.retry import Delivery, RetrySettings, decide_retry, delivery_of
from tradingbot_components.kraken.transport import ExchangeReply, TransportFailure, parse_reply


def kraken(*errors: str, status: int = 200) -> ExchangeReply:
    return parse_reply("M", status, json.dumps({"error": list(errors), "result": {}}))


def failed(failure: TransportFailure) -> ExchangeReply:
    return ExchangeReply("M", None, None, failure, "x")


@pytest.mark.parametrize(
    ("reply", "delivery"),
    [
        (kraken(), Delivery.OK),
        (kraken("WGeneral:Something informative"), Delivery.OK),
        (failed(TransportFailure.CONNECT), Delivery.NOT_SENT),
        (failed(TransportFailure.TIMEOUT), Delivery.UNCERTAIN),
        (failed(TransportFailure.DISCONNECTED), Delivery.UNCERTAIN),
        (parse_reply("M", 520, "error code: 520"), Delivery.UNCERTAIN),
        (parse_reply("M", 200, "<html>"), Delivery.UNCERTAIN),
        (parse_reply("M", 429, "slow down"), Delivery.RATE_LIMITED),
        (kraken("EService:Unavailable", status=503), Delivery.UNCERTAIN),
        (kraken("EService:Unavailable"), Delivery.UNCERTAIN),
        (kraken("EService:Busy"), Delivery.UNCERTAIN),
        (kraken("EGeneral:Internal error"), Delivery.UNCERTAIN),
        (kraken("EAPI:Invalid nonce"), Delivery.REFUSED_NONCE),
        (kraken("EAPI:Rate limit exceeded"), Delivery.RATE_LIMITED),
        (kraken("EService:Throttled: 1700000000"), Delivery.RATE_LIMITED),
        (kraken("EOrder:Rate limit exceeded"), Delivery.RATE_LIMITED),
        (kraken("EGeneral:Temporary lockout"), Delivery.LOCKED_OUT),
        (kraken("EOrder:Insufficient funds"), Delivery.ANSWERED),
        (kraken("EOrder:Duplicate order"), Delivery.ANSWERED),
        (kraken("EGeneral:Invalid arguments:volume"), Delivery.ANSWERED),
        (kraken("EAPI:Invalid key"), Delivery.ANSWERED),
    ],
)
def test_delivery_of(reply: ExchangeReply, delivery: Delivery) -> None:
    assert delivery_of(reply) is delivery


SETTINGS = RetrySettings(max_attempts=3, backoff_base=0.25, backoff_max=2.0)
SAFE = (CallKind.PUBLIC, CallKind.READ, CallKind.IDEMPOTENT)


@pytest.mark.parametrize("kind", list(CallKind))
@pytest.mark.parametrize("delivery", [Delivery.NOT_SENT, Delivery.REFUSED_NONCE])
def test_requests_that_did_not_act_are_resent_whatever_the_call(kind: CallKind, delivery: Delivery) -> None:
    assert decide_retry(kind, delivery, 1, SETTINGS).retry


@pytest.mark.parametrize("delivery", [Delivery.UNCERTAIN, Delivery.RATE_LIMITED])
def test_requests_that_may_have_acted_are_resent_only_when_safe(delivery: Delivery) -> None:
    assert all(decide_retry(kind, delivery, 1, SETTINGS).retry for kind in SAFE)
    decision = decide_retry(CallKind.MUTATING, delivery, 1, SETTINGS)
    assert not decision.retry and "mutating" in decision.reason


@pytest.mark.parametrize("delivery", [Delivery.OK, Delivery.ANSWERED, Delivery.LOCKED_OUT])
def test_final_answers_are_returned(delivery: Delivery) -> None:
    assert not any(decide_retry(kind, delivery, 1, SETTINGS).retry for kind in CallKind)


def test_delays_back_off_for_transient_failures_but_not_for_a_fresh_signature() -> None:
    assert decide_retry(CallKind.READ, Delivery.UNCERTAIN, 1, SETTINGS).delay == 0.25
    assert decide_retry(CallKind.READ, Delivery.UNCERTAIN, 2, SETTINGS).delay == 0.5
    assert decide_retry(CallKind.MUTATING, Delivery.REFUSED_NONCE, 1, SETTINGS).delay == 0.0
    assert decide_retry(CallKind.READ, Delivery.RATE_LIMITED, 1, SETTINGS).delay == 0.0


def test_attempts_are_bounded() -> None:
    decision = decide_retry(CallKind.READ, Delivery.NOT_SENT, 3, SETTINGS)
    assert not decision.retry and decision.reason == "attempts exhausted"
    with pytest.raises(ValueError):
        RetrySettings(max_attempts=0)
