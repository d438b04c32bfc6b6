"""What the public WS v2 channels carry: `book` snapshots and diffs with Kraken's checksum, `ticker`,
`trade` and `instrument` entries, numbers padded to the pair's precision.

A `BookFeed` keeps, per pair and depth, a `FeedBook` mirror of exactly what subscribers were sent;
updates are the difference between the market's top levels and that mirror, and the checksum is the
mirror's, computed by the simulator's own reading of Kraken's checksum guide (not the clients' code).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingbot_components.exchange_sim.catalog import Catalog, PairSpec
from tradingbot_components.exchange_sim.feed_book import FeedBook, Level
from tradingbot_components.exchange_sim.market import BookSide, SimulatedMarket
from tradingbot_components.exchange_sim.tape import PublicTrade, Tape
from tradingbot_components.exchange_sim.wire import num, rfc3339


def _levels(pair: PairSpec, book: BookSide, depth: int) -> list[Level]:
    return [Level(pair.price(ticks), pair.qty(lots)) for ticks, lots in book.top(depth)]


def _diff(old: list[Level], new: list[Level]) -> list[Level]:
    before = {level.price: level.qty for level in old}
    after = {level.price: level.qty for level in new}
    changed = [level for level in new if before.get(level.price) != level.qty]
    removed = [Level(price, Decimal(0)) for price in before if price not in after]
    return removed + changed


class BookFeed:
    """The `book` stream of one pair at one depth."""

    def __init__(self, market: SimulatedMarket, depth: int) -> None:
        self.market = market
        self.pair = market.pair
        self.depth = depth
        self.mirror = FeedBook(depth, self.pair.pair_decimals, self.pair.lot_decimals)
        bids, asks = self._top()
        self.mirror.replace(bids, asks)

    def _top(self) -> tuple[list[Level], list[Level]]:
        return _levels(self.pair, self.market.bids, self.depth), _levels(
            self.pair, self.market.asks, self.depth
        )

    def _render(self, levels: list[Level]) -> list[dict[str, Any]]:
        p, q = self.pair.pair_decimals, self.pair.lot_decimals
        return [{"price": num(level.price, p), "qty": num(level.qty, q)} for level in levels]

    def snapshot(self, symbol: str, now: float) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "bids": self._render(self.mirror.bids()),
            "asks": self._render(self.mirror.asks()),
            "checksum": self.mirror.checksum(),
            "timestamp": rfc3339(now),
        }

    def advance(self) -> tuple[list[Level], list[Level], int] | None:
        """Bring the mirror to the market's top levels; the changed bids, asks and the new checksum."""
        bids, asks = self._top()
        bid_changes = _diff(self.mirror.bids(), bids)
        ask_changes = _diff(self.mirror.asks(), asks)
        if not bid_changes and not ask_changes:
            return None
        self.mirror.apply(bid_changes, ask_changes)
        return bid_changes, ask_changes, self.mirror.checksum()

    def update_entry(
        self, symbol: str, bids: list[Level], asks: list[Level], checksum: int, now: float
    ) -> dict[str, Any]:
        return {
            "symbol": symbol,
            "bids": self._render(bids),
            "asks": self._render(asks),
            "checksum": checksum,
            "timestamp": rfc3339(now),
        }


def bbo(market: SimulatedMarket) -> tuple[int | None, int, int | None, int]:
    bid, ask = market.best_bid(), market.best_ask()
    return (
        bid,
        market.bids.total(bid) if bid is not None else 0,
        ask,
        market.asks.total(ask) if ask is not None else 0,
    )


def ticker_entry(symbol: str, market: SimulatedMarket, tape: Tape, now: float) -> dict[str, Any]:
    pair = market.pair
    p, q = pair.pair_decimals, pair.lot_decimals
    bid, bid_lots, ask, ask_lots = bbo(market)
    day = tape.day(now)
    change = pair.price(day.last) - pair.price(day.open)
    change_pct = (change / pair.price(day.open) * 100) if day.open else Decimal(0)
    return {
        "symbol": symbol,
        "bid": num(pair.price(bid or 0), p),
        "bid_qty": num(pair.qty(bid_lots), q),
        "ask": num(pair.price(ask or 0), p),
        "ask_qty": num(pair.qty(ask_lots), q),
        "last": num(pair.price(day.last), p),
        "volume": num(pair.qty(day.volume), q),
        "vwap": num(tape.vwap(day), p),
        "low": num(pair.price(day.low), p),
        "high": num(pair.price(day.high), p),
        "change": num(change, p),
        "change_pct": num(change_pct, 2),
        "timestamp": rfc3339(now),
    }


def trade_entry(symbol: str, pair: PairSpec, trade: PublicTrade) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "side": trade.side.value,
        "price": num(pair.price(trade.ticks), pair.pair_decimals),
        "qty": num(pair.qty(trade.lots), pair.lot_decimals),
        "ord_type": trade.ord_type,
        "trade_id": trade.trade_id,
        "timestamp": rfc3339(trade.time),
    }


def instrument_snapshot(catalog: Catalog) -> dict[str, Any]:
    assets = [
        {
            "id": asset.ws,
            "status": "enabled",
            "precision": asset.decimals,
            "precision_display": asset.display_decimals,
            "borrowable": False,
            "collateral_value": 0.0,
            "margin_rate": 0.0,
        }
        for asset in catalog.assets_ordered()
    ]
    pairs = [
        {
            "symbol": pair.symbol,
            "base": pair.base.ws,
            "quote": pair.quote.ws,
            "status": "online",
            "qty_precision": pair.lot_decimals,
            "qty_increment": num(pair.lot_size, pair.lot_decimals),
            "price_precision": pair.pair_decimals,
            "price_increment": num(pair.tick_size, pair.pair_decimals),
            "cost_precision": pair.cost_decimals,
            "cost_min": num(pair.costmin, pair.cost_decimals),
            "qty_min": num(pair.ordermin, pair.lot_decimals),
            "marginable": False,
            "has_index": True,
        }
        for pair in catalog.pairs.values()
    ]
    return {"assets": assets, "pairs": pairs}
