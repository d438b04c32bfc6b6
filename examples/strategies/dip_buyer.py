"""A worked example of a user strategy (docs/strategies.md): buy a dip below the recent high, sell at the
configured profit target. Run it with

    tradingbot-component trader --config config.json --strategy examples.strategies.dip_buyer:DipBuyer \
        --strategy-param dip=0.001

or in a TradingBot: `components: [{name: trader, args: ["--strategy", "mypackage.dip_buyer:DipBuyer"]}]`
(the module must be importable in the trader's image).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from tradingbot_components.clients import BalanceManagerClient
from tradingbot_components.strategy import (
    Intent,
    OrderStatus,
    OrderView,
    PlaceOrder,
    Quote,
    Side,
    Strategy,
    StrategyContext,
    TradingState,
)


class DipBuyer(Strategy):
    name = "dip-buyer"

    def __init__(self) -> None:
        self.dip = Decimal("0.002")  # buy when the mid is this fraction below the recent high
        self.window = 200  # quotes remembered per pair
        self.recent: dict[str, deque[Decimal]] = {}
        self.entries = 0

    async def start(self, context: StrategyContext) -> None:
        self.dip = Decimal(context.params.get("dip", str(self.dip)))
        self.window = int(context.params.get("window", str(self.window)))
        # Collaborators come from the trader's container, already started and pointed at this bot.
        balances = await context.container.resolve(BalanceManagerClient)
        snapshot = await balances.balances()
        context.log.info("dip-buyer starting with %s USD available", snapshot.available("ZUSD"))

    def on_quote(self, quote: Quote, state: TradingState) -> Sequence[Intent]:
        history = self.recent.setdefault(quote.pair, deque(maxlen=self.window))
        history.append(quote.mid)
        if state.paused or state.open_orders(quote.pair):
            return []
        holding = state.holding(quote.pair)
        if holding.quantity > 0:
            target = holding.average_price * (1 + state.limits.profit_target)
            return [PlaceOrder(quote.pair, Side.SELL, target, volume=holding.quantity, tag="exit")]
        if quote.mid <= max(history) * (1 - self.dip):
            return [PlaceOrder(quote.pair, Side.BUY, quote.ask, tag="dip")]
        return []

    def on_order(self, order: OrderView, state: TradingState) -> Sequence[Intent]:
        if order.tag == "dip" and order.status is OrderStatus.FILLED:
            self.entries += 1
        return []

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "dip": str(self.dip), "entries": self.entries}
