"""Portfolio metrics read at scrape time: fill counters, and per pair quantity, realized and unrealized P&L
and exposure (the valuation ones only while there is a quote)."""

from __future__ import annotations

from decimal import Decimal as D

from prometheus_client import CollectorRegistry

from tests.unit.components.portfolio.fakes import fill
from tradingbot_components.portfolio.metrics import Sources, register
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.portfolio.valuation import value_positions


def test_metrics_before_anything_has_started() -> None:
    registry = CollectorRegistry()
    register(registry, Sources())
    assert registry.get_sample_value("tradingbot_portfolio_fills_applied_total", {"source": "exchange"}) == 0
    assert registry.get_sample_value("tradingbot_portfolio_executions_feed_synced") == 0
    assert registry.get_sample_value("tradingbot_portfolio_position_quantity", {"pair": "BTC/USD"}) is None


def test_metrics_follow_the_book_and_the_valuation() -> None:
    book = PositionBook.replay(
        [fill("T1", "buy", "2", "100", fee="0.5"), fill("T2", "sell", "1", "110", fee="0.25", second=3)]
    )
    prices: dict[str, D] = {}
    sources = Sources(
        book=book,
        rebuilt_fills=2,
        view=lambda: value_positions(book.holdings, prices, pairs=["ETH/USD"], fills=book.fills),
        feed_synced=lambda: True,
    )
    registry = CollectorRegistry()
    register(registry, sources)

    def sample(name: str, pair: str | None = None) -> float | None:
        return registry.get_sample_value(f"tradingbot_portfolio_{name}", {"pair": pair} if pair else {})

    assert registry.get_sample_value("tradingbot_portfolio_fills_applied_total", {"source": "storage"}) == 2
    assert sample("fills") == 2 and sample("executions_feed_synced") == 1
    assert sample("last_fill_timestamp_seconds") == book.last_fill_at.timestamp()  # type: ignore[union-attr]
    assert sample("position_quantity", "BTC/USD") == 1.0
    assert sample("realized_pnl", "BTC/USD") == 9.25
    assert sample("position_quantity", "ETH/USD") == 0.0
    assert sample("exposure", "BTC/USD") is None and sample("unrealized_pnl", "BTC/USD") is None
    prices["BTC/USD"] = D("120")
    assert sample("exposure", "BTC/USD") == 120.0 and sample("unrealized_pnl", "BTC/USD") == 20.0
