"""What the gateway answers its callers: Kraken's envelope when Kraken answered, the gateway's own refusal
in the same shape otherwise. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradingbot_components.gateway.metrics import CallOutcome
from tradingbot_components.gateway.retry import Delivery, delivery_of
from tradingbot_components.kraken.transport import ExchangeReply, TransportFailure


@dataclass(frozen=True, slots=True)
class GatewayAnswer:
    """What the gateway returns to its caller: an HTTP status and a Kraken-shaped envelope."""

    status: int
    body: dict[str, Any]
    outcome: CallOutcome
    attempts: int
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


def gateway_error(status: int, text: str, outcome: CallOutcome, attempts: int, **extra: Any) -> GatewayAnswer:
    """An answer the gateway makes itself; `text` follows Kraken's `E<Category>:<Message>[:detail]`."""
    return GatewayAnswer(status, {"error": [text], "result": None}, outcome, attempts, **extra)


def answer_for(reply: ExchangeReply, attempts: int) -> GatewayAnswer:
    """The caller's answer for the last reply of a call. Pure.

    Kraken's envelope is passed through (HTTP 200, even for errors); without one the gateway says what
    happened, with 504 when the outcome is unknown after a timeout.
    """
    if reply.envelope is not None:
        delivery = delivery_of(reply)
        if not reply.errors:
            outcome = CallOutcome.OK
        elif delivery in (Delivery.RATE_LIMITED, Delivery.LOCKED_OUT):
            outcome = CallOutcome.RATE_LIMITED
        elif delivery is Delivery.UNCERTAIN:
            outcome = CallOutcome.EXCHANGE_FAILURE
        else:
            outcome = CallOutcome.KRAKEN_ERROR
        return GatewayAnswer(200, reply.envelope, outcome, attempts)
    if reply.failure is TransportFailure.TIMEOUT:
        text = f"EGateway:Exchange timeout:{reply.detail}; the outcome is unknown, reconcile before resending"
        return gateway_error(504, text, CallOutcome.EXCHANGE_FAILURE, attempts)
    if reply.failure is TransportFailure.CONNECT:
        return gateway_error(
            502, f"EGateway:Exchange unreachable:{reply.detail}", CallOutcome.EXCHANGE_FAILURE, attempts
        )
    return gateway_error(
        502, f"EGateway:Exchange failure:{reply.detail}", CallOutcome.EXCHANGE_FAILURE, attempts
    )
