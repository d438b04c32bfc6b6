"""The public record of one pair: trades, one-minute candles (seeded with synthetic history so charts
start full) and the rolling 24-hour figures behind `Ticker`, `OHLC`, `Trades` and the WS `ticker`.

Pure: the engine records trades; the REST and WS layers read.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from tradingbot_components.exchange_sim.catalog import PairSpec
from tradingbot_components.exchange_sim.market import Side

OHLC_INTERVALS: frozenset[int] = frozenset({1, 5, 15, 30, 60, 240, 1440, 10080, 21600})
MAX_CANDLES = 720
_DAY = 86400


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """One trade as the market sees it; `side` is the taker's."""

    side: Side
    ticks: int
    lots: int
    ord_type: str  # "market" | "limit"
    trade_id: int
    time: float


@dataclass(slots=True)
class Candle:
    start: int  # Unix seconds, aligned to the interval
    open: int
    high: int
    low: int
    close: int
    volume: int = 0  # lots
    notional: int = 0  # sum of ticks * lots, for the VWAP
    count: int = 0

    def add(self, ticks: int, lots: int) -> None:
        self.high = max(self.high, ticks)
        self.low = min(self.low, ticks)
        self.close = ticks
        self.volume += lots
        self.notional += ticks * lots
        self.count += 1

    def merge(self, later: Candle) -> None:
        self.high = max(self.high, later.high)
        self.low = min(self.low, later.low)
        self.close = later.close
        self.volume += later.volume
        self.notional += later.notional
        self.count += later.count


@dataclass(frozen=True, slots=True)
class DayStats:
    open: int
    high: int
    low: int
    last: int
    last_lots: int
    volume: int
    notional: int
    count: int


class Tape:
    """Trades and candles of one pair."""

    def __init__(self, pair: PairSpec, now: float, rng: random.Random, history_minutes: int = 1440) -> None:
        self.pair = pair
        self.trades: deque[PublicTrade] = deque(maxlen=1000)
        self.minutes: deque[Candle] = deque(maxlen=max(MAX_CANDLES, 1440) * 2)
        self.next_trade_id = 1
        self._seed_history(now, rng, history_minutes)
        last = self.minutes[-1]
        self.last_ticks, self.last_lots = last.close, max(1, last.volume // max(1, last.count))

    def _seed_history(self, now: float, rng: random.Random, minutes: int) -> None:
        # A walk backwards from the base price, so the newest synthetic candle closes at the base.
        tick_value = float(self.pair.base_price)
        close = max(1, self.pair.to_ticks(self.pair.base_price))
        start = int(now // 60) * 60 - minutes * 60
        closes = [close]
        for _ in range(minutes - 1):
            closes.append(max(1, round(closes[-1] * math.exp(rng.gauss(0, 0.0008)))))
        closes.reverse()
        previous = closes[0]
        unit = 10**self.pair.lot_decimals
        for index, last in enumerate(closes):
            high = max(previous, last) + abs(round(rng.gauss(0, 0.0003) * last))
            low = max(1, min(previous, last) - abs(round(rng.gauss(0, 0.0003) * last)))
            lots = max(1, int(rng.uniform(2000, 40000) / tick_value * unit))
            count = rng.randint(3, 40)
            self.minutes.append(
                Candle(start + index * 60, previous, high, low, last, lots, lots * (high + low) // 2, count)
            )
            previous = last

    def record(self, side: Side, ticks: int, lots: int, ord_type: str, now: float) -> PublicTrade:
        trade = PublicTrade(side, ticks, lots, ord_type, self.next_trade_id, now)
        self.next_trade_id += 1
        self.trades.append(trade)
        self.last_ticks, self.last_lots = ticks, lots
        minute = int(now // 60) * 60
        current = self.minutes[-1] if self.minutes else None
        if current is None or current.start < minute:
            current = Candle(minute, ticks, ticks, ticks, ticks)
            self.minutes.append(current)
        current.add(ticks, lots)
        return trade

    def candles(self, interval: int, since: float | None = None) -> list[Candle]:
        """Candles of `interval` minutes, oldest first, at most 720; the last one is still open."""
        seconds = interval * 60
        out: list[Candle] = []
        for minute in self.minutes:
            start = minute.start // seconds * seconds
            if out and out[-1].start == start:
                out[-1].merge(minute)
            else:
                out.append(
                    Candle(
                        start,
                        minute.open,
                        minute.high,
                        minute.low,
                        minute.close,
                        minute.volume,
                        minute.notional,
                        minute.count,
                    )
                )
        if since is not None:
            out = [candle for candle in out if candle.start > since]
        return out[-MAX_CANDLES:]

    def day(self, now: float) -> DayStats:
        """The rolling 24 hours (Kraken's `today` is since 00:00 UTC; the simulator uses 24 h for both)."""
        window = [candle for candle in self.minutes if candle.start > now - _DAY]
        if not window:
            window = [self.minutes[-1]]
        return DayStats(
            open=window[0].open,
            high=max(candle.high for candle in window),
            low=min(candle.low for candle in window),
            last=self.last_ticks,
            last_lots=self.last_lots,
            volume=sum(candle.volume for candle in window),
            notional=sum(candle.notional for candle in window),
            count=sum(candle.count for candle in window),
        )

    def vwap(self, stats: DayStats) -> Decimal:
        if stats.volume == 0:
            return self.pair.price(stats.last)
        return self.pair.price(stats.notional // stats.volume)
