"""One pair's market data as market data keeps it: book state, counters, gaps, ticker and recent trades.

Plain state; `MarketState` in `market_state.py` changes it as frames arrive.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from tradingbot_components.kraken.book import OrderBook
from tradingbot_components.market_data.market import Gap, Ticker, Trade
from tradingbot_components.market_data.resync import ResyncPlan, ResyncReason
from tradingbot_components.market_data.symbols import PairPrecision


class BookState(enum.StrEnum):
    AWAITING_SNAPSHOT = "awaiting_snapshot"  # subscribed (or about to be), no snapshot yet
    IN_SYNC = "in_sync"  # every checksum since the snapshot matched
    RESYNCING = "resyncing"  # dropped after a bad checksum; waiting for a fresh snapshot
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class Resync:
    """A request to the shell: get `symbol` a fresh snapshot, as `plan` says."""

    symbol: str
    reason: ResyncReason
    plan: ResyncPlan


@dataclass
class PairFeed:
    """Everything market data knows about one pair."""

    pair: str  # as configured
    symbol: str  # as on the wire (WS v2)
    trade_history: int
    state: BookState = BookState.AWAITING_SNAPSHOT
    state_since: float = 0.0
    book: OrderBook | None = None
    precision: PairPrecision | None = None  # from REST; None until known
    precision_used: PairPrecision | None = None  # what the current book checks with
    checksum: int | None = None  # Kraken's, of the last applied message
    last_update: float | None = None
    updates: int = 0  # verified updates since start
    snapshots: int = 0
    ignored: int = 0  # updates dropped while the book was not in sync
    consecutive_failures: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # ResyncReason -> count
    gap_started: float | None = None
    gap_reason: str | None = None
    last_gap: Gap | None = None
    last_gaps: dict[str, Gap] = field(default_factory=dict)  # the last ended gap of each reason
    gaps: int = 0
    gap_seconds: float = 0.0
    ticker: Ticker | None = None
    ticker_at: float | None = None
    trades: deque[Trade] = field(init=False)
    trades_seen: int = 0
    last_trade_id: int | None = None  # a resubscribe's trade snapshot repeats trades we already have

    def __post_init__(self) -> None:
        self.trades = deque(maxlen=self.trade_history)

    @property
    def resyncs(self) -> int:
        return sum(self.failures.values())

    @property
    def ever_synced(self) -> bool:
        return self.snapshots > 0

    def status(self, now: float) -> dict[str, Any]:
        best_bid = self.book.best_bid() if self.book is not None else None
        best_ask = self.book.best_ask() if self.book is not None else None
        return {
            "symbol": self.symbol,
            "book": self.state.value,
            "since": self.state_since,
            "last_update_age": None if self.last_update is None else round(now - self.last_update, 3),
            "updates": self.updates,
            "snapshots": self.snapshots,
            "resyncs": self.resyncs,
            "resyncs_by_reason": dict(self.failures),
            "checksum_mismatches": self.failures[ResyncReason.CHECKSUM_MISMATCH],
            "best_bid": None if best_bid is None else [str(best_bid.price), str(best_bid.qty)],
            "best_ask": None if best_ask is None else [str(best_ask.price), str(best_ask.qty)],
            "precision": None if self.precision_used is None else self.precision_used.to_dict(),
            "gap_open_for": None if self.gap_started is None else round(now - self.gap_started, 3),
            "last_gap": None if self.last_gap is None else self.last_gap.to_dict(),
            "last_gap_by_reason": {reason: gap.to_dict() for reason, gap in self.last_gaps.items()},
            "ticker_age": None if self.ticker_at is None else round(now - self.ticker_at, 3),
            "trades_kept": len(self.trades),
        }
