"""Tickers and trades per pair: last ticker kept, a bounded ring of recent trades without the repeats a
resubscribe's trade snapshot brings, and malformed entries skipped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.components.market_data.conftest import RecordingSink
from tests.unit.components.market_data.frames import Clock, ticker_frame, trade_frame
from tradingbot_components.market_data import MarketState, Ticker, Trade
from tradingbot_components.market_data.market import MarketFormatError


def test_last_ticker_is_kept_and_published(sink: RecordingSink) -> None:
    clock = Clock()
    state = MarketState(["XBT/USD", "ETH/USD"], sink=sink, now=clock)
    state.handle(ticker_frame(bid="30000.0", kind="snapshot"))
    state.handle(ticker_frame(bid="30001.0"))
    state.handle(ticker_frame("ETH/USD", bid="2000.00", ask="2000.01"))
    feed = state.feed("XBT/USD")
    assert feed.ticker is not None and feed.ticker.bid == Decimal("30001.0")
    assert feed.ticker_at == clock.now
    assert [(m["type"], m["pair"], m["ticker"]["bid"]) for _, _, m in sink.messages] == [
        ("snapshot", "XBT/USD", "30000.0"),
        ("update", "XBT/USD", "30001.0"),
        ("update", "ETH/USD", "2000.00"),
    ]
    assert sink.messages[0][2]["ticker"]["volume"] == "123.45600000"


def test_trades_ring_is_bounded_and_skips_repeats() -> None:
    state = MarketState(["XBT/USD"], trade_history=5)
    state.handle(trade_frame(ids=range(1, 4), kind="snapshot"))
    state.handle(trade_frame(ids=range(4, 8)))
    state.handle(trade_frame(ids=range(3, 9), kind="snapshot"))  # after a resubscribe: 3..7 again, and 8
    feed = state.feed("XBT/USD")
    assert [t.trade_id for t in feed.trades] == [4, 5, 6, 7, 8]
    assert feed.trades_seen == 8


def test_malformed_entries_are_skipped() -> None:
    state = MarketState(["XBT/USD"])
    frame = trade_frame(ids=range(1, 3))
    frame["data"][0]["side"] = "sideways"
    state.handle(frame)
    state.handle({"channel": "ticker", "type": "update", "data": [{"symbol": "BTC/USD"}]})
    state.handle({"channel": "ticker", "type": "update", "data": "nope"})
    assert [t.trade_id for t in state.feed("XBT/USD").trades] == [2]
    assert state.bad_frames == 3


def test_parse_errors_name_the_field() -> None:
    with pytest.raises(MarketFormatError, match="ask: missing"):
        Ticker.parse({"symbol": "BTC/USD", "bid": 1})
    with pytest.raises(MarketFormatError, match="price: expected a number"):
        Trade.parse({"symbol": "BTC/USD", "side": "buy", "price": [1], "qty": 1})
