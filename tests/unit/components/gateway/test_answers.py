"""What a caller gets back for the last reply of a call."""

from __future__ import annotations

import pytest

from tradingbot_components.gateway.answers import answer_for
from tradingbot_components.gateway.metrics import CallOutcome
from tradingbot_components.kraken.transport import ExchangeReply, TransportFailure, parse_reply


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ('{"error":[],"result":{"ZUSD":"1"}}', CallOutcome.OK),
        ('{"error":["EOrder:Insufficient funds"]}', CallOutcome.KRAKEN_ERROR),
        ('{"error":["EAPI:Rate limit exceeded"]}', CallOutcome.RATE_LIMITED),
        ('{"error":["EGeneral:Temporary lockout"]}', CallOutcome.RATE_LIMITED),
        ('{"error":["EService:Unavailable"]}', CallOutcome.EXCHANGE_FAILURE),
    ],
)
def test_kraken_s_envelope_passes_through_as_200(text: str, outcome: CallOutcome) -> None:
    reply = parse_reply("Balance", 200, text)
    answer = answer_for(reply, 2)
    assert (answer.status, answer.body, answer.outcome, answer.attempts) == (200, reply.envelope, outcome, 2)


def test_no_usable_answer_is_said_in_kraken_s_shape() -> None:
    timeout = answer_for(
        ExchangeReply("AddOrder", None, None, TransportFailure.TIMEOUT, "no answer within 10s"), 1
    )
    assert timeout.status == 504
    assert timeout.body["error"][0].startswith("EGateway:Exchange timeout:no answer within 10s")
    assert "reconcile" in timeout.body["error"][0] and timeout.body["result"] is None
    refused = answer_for(
        ExchangeReply("Balance", None, None, TransportFailure.CONNECT, "cannot connect: x"), 3
    )
    assert refused.status == 502 and refused.body["error"] == [
        "EGateway:Exchange unreachable:cannot connect: x"
    ]
    cloudflare = answer_for(parse_reply("Balance", 520, "error code: 520"), 3)
    assert cloudflare.status == 502
    assert cloudflare.body["error"] == ["EGateway:Exchange failure:HTTP 520: error code: 520"]
    assert cloudflare.outcome is CallOutcome.EXCHANGE_FAILURE
