"""The built-in strategy: buy when flat, sell everything at a fixed profit over the average entry.

Per pair, one cycle at a time:
1. flat and no open order: a marketable limit buy at the ask, sized by the trader to
   `trading.max_position_size` (quote currency) and the available balance ("entry");
2. holding a position and no open order: a limit sell of the whole holding at
   `average entry price * (1 + trading.profit_target)`, rounded up to the tick ("exit");
3. an entry still open after `entry_timeout` seconds is cancelled (the market ran away);
4. after an exit fills, wait `cooldown` seconds before the next entry.
Both settings are read when an order is decided, so a change applies to the next order.
Parameters (`--strategy-param NAME=VALUE`): `entry_timeout` (default 30), `cooldown` (default 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradingbot_components.strategy.api import (
    CancelOrder,
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

ENTRY, EXIT = "entry", "exit"


def _seconds(params: dict[str, str], name: str, default: float) -> float:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"strategy parameter {name}: expected seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"strategy parameter {name}: must be >= 0, got {raw!r}")
    return value


class TakeProfit(Strategy):
    name = "take-profit"

    def __init__(self, *, entry_timeout: float = 30.0, cooldown: float = 5.0) -> None:
        self.entry_timeout = entry_timeout
        self.cooldown = cooldown
        self._last_exit: dict[str, float] = {}

    async def start(self, context: StrategyContext) -> None:
        params = dict(context.params)
        self.entry_timeout = _seconds(params, "entry_timeout", self.entry_timeout)
        self.cooldown = _seconds(params, "cooldown", self.cooldown)
        unknown = set(params) - {"entry_timeout", "cooldown"}
        if unknown:
            raise ValueError(f"unknown strategy parameter(s) for {self.name}: {', '.join(sorted(unknown))}")

    def on_quote(self, quote: Quote, state: TradingState) -> Sequence[Intent]:
        pair = quote.pair
        rules = state.rules.get(pair)
        if rules is None:
            return []
        open_orders = state.open_orders(pair)
        if open_orders:
            return [
                CancelOrder(order.cl_ord_id, f"entry not filled within {self.entry_timeout:g}s")
                for order in open_orders
                if order.tag == ENTRY and state.now - order.created_at > self.entry_timeout
            ]
        if state.paused:
            return []
        holding = state.holding(pair)
        if holding.quantity > 0 and rules.too_small(rules.volume_down(holding.quantity), quote.bid) is None:
            target = holding.average_price * (Decimal(1) + state.limits.profit_target)
            return [PlaceOrder(pair, Side.SELL, target, volume=holding.quantity, tag=EXIT)]
        if state.now - self._last_exit.get(pair, float("-inf")) < self.cooldown:
            return []
        return [PlaceOrder(pair, Side.BUY, quote.ask, tag=ENTRY)]

    def on_order(self, order: OrderView, state: TradingState) -> Sequence[Intent]:
        if order.tag == EXIT and order.status is OrderStatus.FILLED:
            self._last_exit[order.pair] = state.now
        return []

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "entry_timeout": self.entry_timeout, "cooldown": self.cooldown}
