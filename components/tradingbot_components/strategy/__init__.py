"""The public strategy API: write a `Strategy` subclass, name it by import path, and the trader runs it.

    from tradingbot_components.strategy import PlaceOrder, Side, Strategy

See docs/strategies.md; the built-in strategy is `tradingbot_components.strategy.take_profit:TakeProfit`.
"""

from tradingbot_components.strategy.api import (
    CancelOrder,
    Intent,
    Limits,
    OrderStatus,
    OrderView,
    PairRules,
    PlaceOrder,
    Quote,
    Side,
    Strategy,
    StrategyContext,
    TradingState,
)
from tradingbot_components.strategy.loading import DEFAULT_STRATEGY, StrategyLoadError, load_strategy
from tradingbot_components.trading.positions import Holding

__all__ = [
    "DEFAULT_STRATEGY",
    "CancelOrder",
    "Holding",
    "Intent",
    "Limits",
    "OrderStatus",
    "OrderView",
    "PairRules",
    "PlaceOrder",
    "Quote",
    "Side",
    "Strategy",
    "StrategyContext",
    "StrategyLoadError",
    "TradingState",
    "load_strategy",
]
