"""What the dashboard shows, as plain values: the bot (its status read with the plugin's reader), performance,
positions and alerts. Pure: sources build it, the Textual app renders it, tests compare it.

Performance comes from the components' own Prometheus metrics: rates are the difference of two scrapes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families

from tradingbot_operator.api.status import Alert
from tradingbot_operator.plugin.reading import BotView


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def parse_metrics(text: str) -> list[Sample]:
    """Prometheus text exposition as samples (`_total`, `_bucket`, ... keep their suffixes)."""
    samples = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.append(Sample(sample.name, dict(sample.labels), float(sample.value)))
    return samples


def total(samples: Iterable[Sample], name: str, **labels: str) -> float | None:
    """The sum of `name`'s samples whose labels include `labels`; None when there is none."""
    found = [
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(found) if found else None


def quantile(samples: Iterable[Sample], name: str, q: float) -> float | None:
    """A quantile of histogram `name` from its cumulative buckets (upper bound of the bucket it falls in)."""
    buckets = sorted(
        (
            (float(s.labels["le"]), s.value)
            for s in samples
            if s.name == f"{name}_bucket" and "le" in s.labels
        ),
        key=lambda b: b[0],
    )
    if not buckets or buckets[-1][1] <= 0:
        return None
    wanted = q * buckets[-1][1]
    for bound, count in buckets:
        if count >= wanted:
            return None if math.isinf(bound) else bound
    return None


@dataclass(frozen=True)
class Headroom:
    counter: str
    headroom: float
    cap: float


@dataclass(frozen=True)
class Performance:
    gateway_calls_per_second: float | None = None
    headroom: tuple[Headroom, ...] = ()
    breaker: str | None = None  # closed | open | half_open
    book_messages_per_second: float | None = None
    tick_to_order_p50: float | None = None  # seconds
    tick_to_order_p99: float | None = None
    orders: int | None = None
    notes: tuple[str, ...] = ()  # what could not be measured, and why


@dataclass(frozen=True)
class PositionRow:
    pair: str
    quantity: str
    average_price: str | None
    market_price: str | None
    unrealized_pnl: str | None
    realized_pnl: str


@dataclass(frozen=True)
class DashboardModel:
    bot: BotView
    where: str  # "local (paper), state in ..." or "cluster, namespace bots"
    updated: datetime
    performance: Performance = field(default_factory=Performance)
    positions: tuple[PositionRow, ...] = ()
    realized_pnl: str | None = None
    alerts: tuple[Alert, ...] = ()
    suspended: bool = False
    problems: tuple[str, ...] = ()  # what could not be read this time


@dataclass
class Rates:
    """Turns counters into per-second rates over the last `window` seconds of scrapes (smooth, not jumpy)."""

    window: float = 10.0
    history: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def rate(self, key: str, value: float | None, now: float) -> float | None:
        if value is None:
            return None
        points = self.history.setdefault(key, [])
        if points and value < points[-1][1]:
            points.clear()  # the counter restarted with its process
        points.append((now, value))
        while len(points) > 2 and now - points[0][0] > self.window:
            points.pop(0)
        (start, first), (end, last) = points[0], points[-1]
        return (last - first) / (end - start) if end > start else None


def performance(
    gateway: Sequence[Sample],
    market_data: Sequence[Sample],
    trader: Sequence[Sample],
    rates: Rates,
    now: float,
) -> Performance:
    """The performance panel from the gateway's, market-data's and trader's metrics."""
    headroom = []
    for sample in gateway:
        if sample.name == "kraken_rate_counter_headroom":
            counter = sample.labels.get("counter", "?")
            cap = total(gateway, "kraken_rate_counter_cap", counter=counter) or 0.0
            headroom.append(Headroom(counter, sample.value, cap))
    breaker = next(
        (s.labels.get("state") for s in gateway if s.name == "kraken_breaker_state" and s.value == 1.0), None
    )
    orders = total(trader, "tradingbot_trader_orders_total")
    return Performance(
        gateway_calls_per_second=rates.rate("calls", total(gateway, "tradingbot_gateway_calls_total"), now),
        headroom=tuple(headroom),
        breaker=breaker,
        book_messages_per_second=rates.rate(
            "book", total(market_data, "tradingbot_market_data_book_updates_total"), now
        ),
        tick_to_order_p50=quantile(trader, "tradingbot_trader_tick_to_order_seconds", 0.5),
        tick_to_order_p99=quantile(trader, "tradingbot_trader_tick_to_order_seconds", 0.99),
        orders=int(orders) if orders is not None else None,
    )


def positions(document: Mapping[str, object] | None) -> tuple[tuple[PositionRow, ...], str | None]:
    """Portfolio's `GET /positions` as rows, with the total realized P&L."""
    if not document:
        return (), None
    rows = []
    for entry in document.get("positions") or []:  # type: ignore[attr-defined]
        rows.append(
            PositionRow(
                pair=str(entry.get("pair")),
                quantity=str(entry.get("quantity")),
                average_price=entry.get("average_price"),
                market_price=entry.get("market_price"),
                unrealized_pnl=entry.get("unrealized_pnl"),
                realized_pnl=str(entry.get("realized_pnl")),
            )
        )
    realized = document.get("realized_pnl")
    return tuple(rows), (str(realized) if realized is not None else None)
