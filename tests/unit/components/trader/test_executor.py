"""The executor's answer for one order: its outcome is one of `SendOutcome`'s words whatever the gateway
said (the trader counts orders by it, as a metric label), and the order is recorded with its new status."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest

from tradingbot_components.clients.gateway import GatewayReply
from tradingbot_components.storage.models import Order, OrderStatus, Side
from tradingbot_components.strategy.api import OrderView
from tradingbot_components.trader.executor import OrderExecutor, SendOutcome
from tradingbot_components.trader.ledger import OrderLedger
from tradingbot_components.trader.risk import Approved
from tradingbot_components.trading.rules import PairRules

RULES = PairRules("BTC/USD", "XBTUSD", 1, 8, D("0.0001"), D("0.5"), D("0.1"), D("0.004"))


class Gateway:
    def __init__(self, reply: GatewayReply) -> None:
        self.reply = reply

    async def private(self, method: str, params: Any = None, **hints: Any) -> GatewayReply:
        return self.reply


class Storage:
    async def add_order(self, order: Order) -> tuple[Order, bool]:
        return order, True

    async def update_order(self, *args: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("reply", "outcome", "status"),
    [
        (GatewayReply("AddOrder", 200, (), {"txid": ["O1"]}), SendOutcome.PLACED, OrderStatus.NEW),
        (
            GatewayReply("AddOrder", 200, ("EOrder:Insufficient funds",)),
            SendOutcome.REJECTED,
            OrderStatus.REJECTED,
        ),
        (
            GatewayReply("AddOrder", 503, ("EGateway:Circuit open:the exchange looks unwell",)),
            SendOutcome.NOT_SENT,
            OrderStatus.REJECTED,
        ),
    ],
    ids=["placed", "refused-by-the-exchange", "refused-by-the-gateway"],
)
def test_the_outcome_is_a_plain_word(reply: GatewayReply, outcome: str, status: OrderStatus) -> None:
    async def place() -> None:
        executor = OrderExecutor(
            Gateway(reply),  # type: ignore[arg-type]
            Storage(),  # type: ignore[arg-type]
            OrderLedger(),
            deadline=5.0,
            on_change=lambda _order: None,
        )
        placement = await executor.place(
            Approved("BTC/USD", Side.BUY, D("0.001"), D("60000")), RULES, "entry"
        )
        assert placement.outcome == outcome
        assert isinstance(placement.outcome, str)
        assert placement.order is not None and placement.order.status is status
        await executor.stop()

    asyncio.run(place())


class CountingGateway:
    """Answers CancelOrder with `cancel_reply` and the lookups with nothing found; counts the calls."""

    def __init__(self, cancel_reply: GatewayReply) -> None:
        self.cancel_reply = cancel_reply
        self.calls: list[str] = []

    async def private(self, method: str, params: Any = None, **hints: Any) -> GatewayReply:
        self.calls.append(method)
        if method == "CancelOrder":
            return self.cancel_reply
        section = "open" if method == "OpenOrders" else "closed"
        return GatewayReply(method, 200, (), {section: {}})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cancelling(reply: GatewayReply) -> tuple[OrderExecutor, CountingGateway, Clock, OrderView]:
    gateway, clock = CountingGateway(reply), Clock()
    executor = OrderExecutor(
        gateway,  # type: ignore[arg-type]
        Storage(),  # type: ignore[arg-type]
        OrderLedger(),
        deadline=5.0,
        on_change=lambda _order: None,
        cancel_retry=5.0,
        clock=clock,
    )
    order = executor.ledger.put(
        OrderView(
            "c1", "BTC/USD", Side.BUY, D("0.001"), D("60000"), OrderStatus.NEW, D(0), None, "entry", 990.0
        )
    )
    return executor, gateway, clock, order


ACCEPTED = GatewayReply("CancelOrder", 200, (), {"count": 1})


def test_a_cancel_asked_for_on_every_quote_is_sent_once_per_retry_interval() -> None:
    async def run() -> None:
        executor, gateway, clock, order = cancelling(ACCEPTED)
        for _quote in range(20):  # the strategy asks on every quote until the feed says canceled
            assert await executor.cancel(order, RULES, "entry timed out") is True
            clock.now += 0.2
        assert gateway.calls == ["CancelOrder"]
        assert (executor.cancels_sent, executor.cancels_held) == (1, 19)
        clock.now += 1.1  # 5.1 s after the first: the feed never confirmed it, so ask the exchange again
        assert await executor.cancel(order, RULES, "entry timed out") is True
        assert gateway.calls == ["CancelOrder", "CancelOrder"]

    asyncio.run(run())


def test_an_order_of_unknown_outcome_is_looked_up_once_per_interval_not_on_every_quote() -> None:
    """The exchange does not know the id (yet): the lookup that follows runs once, not three calls a quote."""

    async def run() -> None:
        executor, gateway, clock, order = cancelling(
            GatewayReply("CancelOrder", 200, ("EOrder:Unknown order",))
        )
        for _quote in range(10):
            assert await executor.cancel(order, RULES, "entry timed out") is True
            clock.now += 0.1
        assert gateway.calls == ["CancelOrder", "OpenOrders", "ClosedOrders"]

    asyncio.run(run())


def test_a_cancel_the_gateway_refused_before_sending_is_tried_again_at_once() -> None:
    async def run() -> None:
        executor, gateway, clock, order = cancelling(
            GatewayReply("CancelOrder", 503, ("EGateway:Circuit open:the exchange looks unwell",))
        )
        assert await executor.cancel(order, RULES, "entry timed out") is False
        gateway.cancel_reply = ACCEPTED
        clock.now += 0.2
        assert await executor.cancel(order, RULES, "entry timed out") is True
        assert gateway.calls == ["CancelOrder", "CancelOrder"]

    asyncio.run(run())


def test_the_cancels_on_the_way_out_are_sent_even_right_after_one() -> None:
    async def run() -> None:
        executor, gateway, clock, order = cancelling(ACCEPTED)
        await executor.cancel(order, RULES, "entry timed out")
        clock.now += 0.5
        await executor.cancel(order, RULES, "trader stopping", resend=True)
        assert gateway.calls == ["CancelOrder", "CancelOrder"]

    asyncio.run(run())
