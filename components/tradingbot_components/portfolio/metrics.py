"""Prometheus metrics of the portfolio, read at scrape time from the book, the recorder and the valuation.

Amounts are in each pair's quote currency. Prometheus samples are floats: the exact figures are the
decimal strings of `GET /positions`; these are for dashboards and alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from tradingbot_components.clients.portfolio import PortfolioView
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.portfolio.recorder import FillRecorder

PREFIX = "tradingbot_portfolio_"


@dataclass
class Sources:
    """What the collector reads; each is None until that part has started."""

    book: PositionBook | None = None
    rebuilt_fills: int = 0  # fills applied from storage by the last rebuild
    recorder: FillRecorder | None = None
    view: Callable[[], PortfolioView | None] = lambda: None
    feed_synced: Callable[[], bool] = lambda: False


class PortfolioCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self._sources = sources

    def describe(self) -> Iterable[Metric]:
        return self._families(Sources())

    def collect(self) -> Iterable[Metric]:
        return self._families(self._sources)

    def _families(self, sources: Sources) -> list[Metric]:
        def counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
            return CounterMetricFamily(PREFIX + name, doc, labels=labels)

        def gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
            return GaugeMetricFamily(PREFIX + name, doc, labels=labels)

        applied = counter(
            "fills_applied", "Fills applied to the positions, by where they came from", ["source"]
        )
        duplicates = counter("duplicate_fills", "Fills ignored because they were already applied")
        refused = counter("refused_fills", "Fills storage refused; they were not applied")
        failures = counter("storage_failures", "Attempts to store a fill that found storage unavailable")
        pending = gauge("pending_fills", "Fills received and not yet stored and applied")
        fills = gauge("fills", "Distinct fills the positions are built from")
        last_fill = gauge("last_fill_timestamp_seconds", "Execution time of the newest fill")
        synced = gauge(
            "executions_feed_synced", "1 while the private executions feed is subscribed and synced"
        )
        quantity = gauge("position_quantity", "Position in the base currency (negative: short)", ["pair"])
        realized = gauge("realized_pnl", "Realized P&L, fees included, in the quote currency", ["pair"])
        unrealized = gauge(
            "unrealized_pnl", "Unrealized P&L at the market mid price (absent without a quote)", ["pair"]
        )
        exposure = gauge(
            "exposure", "Position value at the market mid price (absent without a quote)", ["pair"]
        )
        recorder, book = sources.recorder, sources.book
        applied.add_metric(["storage"], sources.rebuilt_fills)
        applied.add_metric(["exchange"], recorder.applied if recorder else 0)
        duplicates.add_metric([], recorder.duplicates if recorder else 0)
        refused.add_metric([], recorder.refused_count if recorder else 0)
        failures.add_metric([], recorder.storage_failures if recorder else 0)
        pending.add_metric([], recorder.pending if recorder else 0)
        synced.add_metric([], 1.0 if sources.feed_synced() else 0.0)
        if book is not None:
            fills.add_metric([], book.fills)
            if book.last_fill_at is not None:
                last_fill.add_metric([], book.last_fill_at.timestamp())
        view = sources.view()
        for position in view.positions if view is not None else ():
            quantity.add_metric([position.pair], float(position.quantity))
            realized.add_metric([position.pair], float(position.realized_pnl))
            if position.unrealized_pnl is not None:
                unrealized.add_metric([position.pair], float(position.unrealized_pnl))
            if position.exposure is not None:
                exposure.add_metric([position.pair], float(position.exposure))
        return [
            applied,
            duplicates,
            refused,
            failures,
            pending,
            fills,
            last_fill,
            synced,
            quantity,
            realized,
            unrealized,
            exposure,
        ]


def register(registry: CollectorRegistry, sources: Sources) -> None:
    registry.register(PortfolioCollector(sources))
