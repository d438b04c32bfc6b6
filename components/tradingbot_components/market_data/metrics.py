"""Prometheus metrics of market data, read from its state at scrape time (the hot path only bumps ints).

Families: book updates, checksum mismatches and resyncs per pair, book sync state and update age per pair,
gaps (count, total and last duration) per pair, connection attempts and reconnects, stream clients/drops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from tradingbot_components.market_data.exchange import ExchangeFeed
from tradingbot_components.market_data.feeds import BookState
from tradingbot_components.market_data.market_state import MarketState
from tradingbot_components.market_data.resync import ResyncReason
from tradingbot_components.market_data.stream import StreamHub

PREFIX = "tradingbot_market_data_"


@dataclass
class Sources:
    """What the collector reads; `state` and `feed` are None until market data has started."""

    hub: StreamHub
    state: MarketState | None = None
    feed: ExchangeFeed | None = None


class MarketDataCollector(Collector):
    def __init__(self, sources: Sources, clock: Callable[[], float]) -> None:
        self._sources = sources
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return self._families(None, None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self._sources.state, self._sources.feed)

    def _families(self, state: MarketState | None, feed: ExchangeFeed | None) -> list[Metric]:
        def counter(name: str, doc: str, labels: list[str] | None = None) -> CounterMetricFamily:
            return CounterMetricFamily(PREFIX + name, doc, labels=labels)

        def gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
            return GaugeMetricFamily(PREFIX + name, doc, labels=labels)

        updates = counter("book_updates", "Book updates applied with a matching checksum", ["pair"])
        mismatches = counter("checksum_mismatches", "Book checksums that did not match", ["pair"])
        resyncs = counter(
            "resyncs", "Times a pair's book was dropped for a fresh snapshot", ["pair", "reason"]
        )
        in_sync = gauge("book_in_sync", "1 while the pair's book is checksum-verified and in sync", ["pair"])
        age = gauge("book_update_age_seconds", "Seconds since the pair's book last changed", ["pair"])
        gaps = counter("gaps", "Stretches without a valid book that have ended", ["pair"])
        gap_total = counter("gap_seconds", "Seconds spent without a valid book (ended gaps)", ["pair"])
        last_gap = gauge(
            "last_gap_seconds", "Duration of the pair's last ended gap of each reason", ["pair", "reason"]
        )
        connected = gauge("connected", "1 while the exchange WebSocket is connected")
        attempts = counter("connection_attempts", "Exchange WebSocket connection attempts")
        reconnects = counter("reconnects", "Successful exchange reconnections")
        resubscribes = counter("resubscribes", "Book unsubscribe/subscribe pairs sent to resync")
        clients = gauge("stream_clients", "Subscribers connected to /stream")
        dropped = counter("stream_dropped_messages", "Messages dropped for slow /stream subscribers")
        slow = counter("stream_slow_disconnects", "/stream subscribers disconnected for being too slow")
        now = self._clock()
        if state is not None:
            for f in state.feeds.values():
                updates.add_metric([f.pair], f.updates)
                mismatches.add_metric([f.pair], f.failures[ResyncReason.CHECKSUM_MISMATCH])
                for reason in ResyncReason:
                    resyncs.add_metric([f.pair, reason.value], f.failures[reason])
                in_sync.add_metric([f.pair], 1.0 if f.state is BookState.IN_SYNC else 0.0)
                if f.last_update is not None:
                    age.add_metric([f.pair], max(0.0, now - f.last_update))
                gaps.add_metric([f.pair], f.gaps)
                gap_total.add_metric([f.pair], f.gap_seconds)
                for gap in f.last_gaps.values():
                    last_gap.add_metric([f.pair, gap.reason], gap.seconds)
        if feed is not None:
            connected.add_metric([], 1.0 if feed.connected else 0.0)
            attempts.add_metric([], feed.attempts)
            reconnects.add_metric([], feed.reconnects)
            resubscribes.add_metric([], feed.resubscribes)
        hub = self._sources.hub
        clients.add_metric([], len(hub.clients))
        dropped.add_metric([], hub.dropped)
        slow.add_metric([], hub.slow_disconnects)
        return [
            updates,
            mismatches,
            resyncs,
            in_sync,
            age,
            gaps,
            gap_total,
            last_gap,
            connected,
            attempts,
            reconnects,
            resubscribes,
            clients,
            dropped,
            slow,
        ]


def register(registry: CollectorRegistry, sources: Sources, clock: Callable[[], float]) -> None:
    registry.register(MarketDataCollector(sources, clock))
