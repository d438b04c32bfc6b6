"""Readiness of market data (connected, every book in sync) and its Prometheus families."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from tests.unit.components.market_data.frames import BookScript, Clock
from tradingbot_components.market_data import MarketState
from tradingbot_components.market_data.component import readiness
from tradingbot_components.market_data.exchange import ExchangeFeed
from tradingbot_components.market_data.metrics import Sources, register
from tradingbot_components.market_data.stream import StreamHub
from tradingbot_components.runtime import HealthStatus


def started() -> tuple[MarketState, ExchangeFeed]:
    state = MarketState(["XBT/USD", "ETH/USD"], now=Clock())
    return state, ExchangeFeed("ws://127.0.0.1:1/v2", state)


def test_ready_only_when_connected_with_every_book_in_sync() -> None:
    assert readiness(None, None) == (HealthStatus.UNKNOWN, "not started")
    state, feed = started()
    assert readiness(feed, state) == (HealthStatus.UNKNOWN, "connecting to ws://127.0.0.1:1/v2")
    feed.last_error = "ConnectionRefusedError: [Errno 111]"
    status, message = readiness(feed, state)
    assert status is HealthStatus.UNHEALTHY
    assert message == "not connected to ws://127.0.0.1:1/v2: ConnectionRefusedError: [Errno 111]"

    feed.connected = True
    state.handle(BookScript("BTC/USD").snapshot())
    assert readiness(feed, state) == (HealthStatus.UNHEALTHY, "books not in sync: ETH/USD awaiting_snapshot")
    eth = BookScript("ETH/USD")
    state.handle(eth.snapshot())
    assert readiness(feed, state) == (HealthStatus.HEALTHY, None)
    state.handle(eth.touch(1, corrupt=True))
    assert readiness(feed, state)[1] == "books not in sync: ETH/USD resyncing"


def test_metrics_are_read_at_scrape_time() -> None:
    registry, clock = CollectorRegistry(), Clock()
    sources = Sources(StreamHub())
    register(registry, sources, clock)
    assert b"tradingbot_market_data_book_updates_total{" not in generate_latest(registry)

    state, feed = started()
    sources.state, sources.feed = state, feed
    script = BookScript("BTC/USD")
    state.handle(script.snapshot())
    for n in range(3):
        state.handle(script.touch(n))
    state.handle(script.touch(9, corrupt=True))
    feed.connected, feed.attempts = True, 1
    text = generate_latest(registry).decode()

    assert 'tradingbot_market_data_book_updates_total{pair="XBT/USD"} 3.0' in text
    assert 'tradingbot_market_data_checksum_mismatches_total{pair="XBT/USD"} 1.0' in text
    assert 'tradingbot_market_data_resyncs_total{pair="XBT/USD",reason="checksum_mismatch"} 1.0' in text
    assert 'tradingbot_market_data_book_in_sync{pair="XBT/USD"} 0.0' in text
    assert "tradingbot_market_data_connected 1.0" in text
    assert "tradingbot_market_data_stream_dropped_messages_total 0.0" in text
