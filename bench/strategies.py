"""Strategies used only by the benchmarks (loaded by import path, like any user strategy)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradingbot_components.strategy import (
    Intent,
    PlaceOrder,
    Quote,
    Side,
    Strategy,
    StrategyContext,
    TradingState,
)


class Taker(Strategy):
    """Every quote with nothing open: a small marketable order, alternating buy at the ask and sell at the
    bid, so each decision is one AddOrder that fills at once (no cancel penalties on the trading counter)."""

    name = "bench-taker"

    def __init__(self) -> None:
        self.volume = Decimal("0.0001")
        self.next_side = Side.BUY

    async def start(self, context: StrategyContext) -> None:
        self.volume = Decimal(context.params.get("volume", str(self.volume)))

    def on_quote(self, quote: Quote, state: TradingState) -> Sequence[Intent]:
        if state.paused or state.open_orders(quote.pair):
            return []
        side, self.next_side = self.next_side, (Side.SELL if self.next_side is Side.BUY else Side.BUY)
        price = quote.ask if side is Side.BUY else quote.bid
        return [PlaceOrder(quote.pair, side, price, volume=self.volume, tag="bench")]
