"""Positions valued at market: each pair's holding at the mid price market data vouches for, as the
`PortfolioView` that `GET /positions` serves. Pure: the quotes are passed in.

A pair without a valid quote keeps its quantity, average and realized P&L; only `market_price`,
`unrealized_pnl` and `exposure` are null until market data has a checksum-verified book again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from tradingbot_components.clients.portfolio import PortfolioView, Position
from tradingbot_components.market_data.symbols import ws_symbol
from tradingbot_components.trading.positions import ZERO, Holding


def value_positions(
    holdings: Mapping[str, Holding],
    prices: Mapping[str, Decimal],
    *,
    pairs: Iterable[str] = (),
    fills: int = 0,
) -> PortfolioView:
    """Every pair in `holdings` plus `pairs` (the configured ones, shown flat when never traded), sorted,
    valued at `prices` (mid prices by WS v2 pair)."""
    shown = sorted({ws_symbol(p) for p in pairs} | set(holdings))
    positions = []
    for pair in shown:
        holding = holdings.get(pair) or Holding()
        price = prices.get(pair)
        positions.append(
            Position(
                pair=pair,
                quantity=holding.quantity,
                average_price=holding.average_price,
                market_price=price,
                unrealized_pnl=None if price is None else holding.unrealized(price),
                realized_pnl=holding.realized_pnl,
            )
        )
    realized = sum((h.realized_pnl for h in holdings.values()), ZERO)
    return PortfolioView(tuple(positions), realized, fills)


def unpriced(view: PortfolioView) -> list[str]:
    """The pairs shown without a market price."""
    return [p.pair for p in view.positions if p.market_price is None]
