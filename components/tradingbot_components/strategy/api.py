"""The strategy interface: market events in, order intents out.

A strategy is a class with two decision methods, `on_quote` and `on_order`, each given the event and a
read-only `TradingState` and returning the intents it wants carried out (`PlaceOrder`, `CancelOrder`). The
trader owns everything else: client order ids, pre-trade checks against balances and the position cap,
persistence before sending, the gateway, the dead man's switch, and cancelling on the way out. Decisions
are synchronous on purpose (they run on every book update); a strategy that needs I/O does it in `start`
with the collaborators it resolves from `context.container`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradingbot_components.clients.market_stream import Quote
from tradingbot_components.storage.models import OrderStatus, Side
from tradingbot_components.trading.positions import Holding
from tradingbot_components.trading.rules import PairRules

if TYPE_CHECKING:
    from tradingbot_components.config.manager import ConfigManager
    from tradingbot_components.runtime import Container

__all__ = [
    "CancelOrder",
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
    "TradingState",
]


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A limit order. `volume=None` asks for as much as the limits allow (for a buy: `max_position_size`
    in quote currency less what is held, at `price`). The trader rounds price and volume to the pair's
    increments (buys down, sells up for the price) and refuses what fails its checks."""

    pair: str
    side: Side
    price: Decimal
    volume: Decimal | None = None
    tag: str = ""  # the strategy's own label, shown in GET /orders ("entry", "exit")
    post_only: bool = False


@dataclass(frozen=True, slots=True)
class CancelOrder:
    cl_ord_id: str
    reason: str = ""


Intent = PlaceOrder | CancelOrder


@dataclass(frozen=True, slots=True)
class OrderView:
    """One of the trader's orders, as the trader knows it now."""

    cl_ord_id: str
    pair: str
    side: Side
    volume: Decimal
    price: Decimal
    status: OrderStatus
    filled: Decimal
    average_price: Decimal | None
    tag: str
    created_at: float
    exchange_order_id: str | None = None

    @property
    def open(self) -> bool:
        return not self.status.final

    @property
    def remaining(self) -> Decimal:
        return self.volume - self.filled


@dataclass(frozen=True, slots=True)
class Limits:
    """The hot trading settings as they are now (`trading.profit_target`, `trading.max_position_size`)."""

    profit_target: Decimal
    max_position_size: Decimal  # quote currency, per pair


@dataclass(frozen=True)
class TradingState:
    """What a decision may look at: the trader's orders and holdings per pair, the limits, pair rules."""

    now: float
    limits: Limits
    orders: Mapping[str, Sequence[OrderView]]  # by pair: open and recent orders, oldest first
    holdings: Mapping[str, Holding]  # by pair: what the trader's own fills built
    rules: Mapping[str, PairRules]  # by pair (WS v2 symbol)
    paused: str | None = None  # why new orders are held back (safe mode, gateway down), or None

    def open_orders(self, pair: str) -> list[OrderView]:
        return [order for order in self.orders.get(pair, ()) if order.open]

    def holding(self, pair: str) -> Holding:
        return self.holdings.get(pair) or Holding()


@dataclass
class StrategyContext:
    """What a strategy gets at start: the component's DI container (collaborators such as
    `BalanceManagerClient`, `PortfolioClient`, `GatewayClient`), the live config, its own parameters."""

    container: Container
    config: ConfigManager
    pairs: tuple[str, ...]  # WS v2 symbols
    params: Mapping[str, str] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tradingbot.strategy"))


class Strategy:
    """Base class of strategies; override what you need. One instance per trader process."""

    name = "strategy"

    async def start(self, context: StrategyContext) -> None:
        """Once, before the first event: resolve collaborators, read parameters, warm up."""

    def on_quote(self, quote: Quote, state: TradingState) -> Sequence[Intent]:
        """A new top of book for `quote.pair` (checksum-verified)."""
        return ()

    def on_order(self, order: OrderView, state: TradingState) -> Sequence[Intent]:
        """One of the trader's orders changed (acknowledged, filled in part or whole, cancelled, refused)."""
        return ()

    async def stop(self) -> None:
        """Once, on the way out (the trader cancels the open orders itself)."""

    def describe(self) -> dict[str, Any]:
        """For /healthz and GET /orders: the strategy's own view of itself (JSON-able, no secrets)."""
        return {"name": self.name}
