"""The `book` channel the simulator writes verifies with the client's `OrderBook`: snapshot and every
update, at every depth, read back from the JSON text (trailing zeros and all)."""

from __future__ import annotations

import random

import pytest

from tradingbot_components.exchange_sim.catalog import Catalog
from tradingbot_components.exchange_sim.market import MarketParams, Side, SimulatedMarket
from tradingbot_components.exchange_sim.wire import dumps
from tradingbot_components.exchange_sim.ws_feeds import BookFeed
from tradingbot_components.kraken.book import BOOK_DEPTHS, OrderBook, loads_exact, parse_book_frame

NOW = 1_700_000_000.0


def frames(feed: BookFeed, symbol: str, steps: int) -> list[str]:
    out = [dumps({"channel": "book", "type": "snapshot", "data": [feed.snapshot(symbol, NOW)]})]
    for index in range(steps):
        feed.market.step()
        if index % 7 == 0:  # the account's own orders and sweeps change the book too
            feed.market.sweep(Side.BUY, 10**6, None)
            best = feed.market.best_bid()
            if best is not None:
                feed.market.bids.add_user(best - 1, 12345)
        change = feed.advance()
        if change is not None:
            bids, asks, checksum = change
            entry = feed.update_entry(symbol, bids, asks, checksum, NOW)
            out.append(dumps({"channel": "book", "type": "update", "data": [entry]}))
    return out


@pytest.mark.parametrize("depth", sorted(BOOK_DEPTHS))
@pytest.mark.parametrize("pair_name", ["XBT/USD", "ETH/USD", "DOGE/USD"])
def test_snapshot_and_updates_verify_at_every_depth(depth: int, pair_name: str) -> None:
    pair = Catalog.from_config([pair_name]).pair(pair_name)
    assert pair is not None
    market = SimulatedMarket(pair, random.Random(depth), MarketParams(levels=max(depth + 50, 100)))
    feed = BookFeed(market, depth)
    client = OrderBook(pair.symbol, depth)  # no precision hints: the text must carry full precision
    texts = frames(feed, pair.symbol, 120)
    assert len(texts) > 60
    for text in texts:
        for message in parse_book_frame(loads_exact(text)):
            client.apply_checked(message)
    assert client.in_sync
    assert client.bids() == feed.mirror.bids() and client.asks() == feed.mirror.asks()
    assert len(client.bids()) == depth


def test_numbers_keep_the_pairs_precision_on_the_wire() -> None:
    pair = Catalog.from_config(["XBT/USD"]).pair("XBT/USD")
    assert pair is not None
    feed = BookFeed(SimulatedMarket(pair, random.Random(1), MarketParams(levels=50)), 10)
    text = dumps(feed.snapshot("BTC/USD", NOW))
    level = loads_exact(text)["bids"][0]
    assert level["price"].as_tuple().exponent == -1
    assert level["qty"].as_tuple().exponent == -8
