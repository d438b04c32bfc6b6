"""The executor's answer for one order: its outcome is one of `SendOutcome`'s words whatever the gateway
said (the trader counts orders by it, as a metric label), and the order is recorded with its new status."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest

from tradingbot_components.clients.gateway import GatewayReply
from tradingbot_components.storage.models import Order, OrderStatus, Side
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
