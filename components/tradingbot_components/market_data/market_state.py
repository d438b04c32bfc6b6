"""The books, tickers and trades of the configured pairs, fed by decoded WebSocket v2 frames.

No I/O: `MarketState.handle(frame)` applies a frame, publishes to the stream sink, and returns the
resyncs to perform; the exchange client (the shell) sends the unsubscribe/subscribe or reconnects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from tradingbot_components.kraken.book import (
    BookFormatError,
    BookMessage,
    BookMessageType,
    OrderBook,
    parse_book_frame,
)
from tradingbot_components.market_data.feeds import BookState, PairFeed, Resync
from tradingbot_components.market_data.market import Gap, MarketFormatError, Ticker, Trade
from tradingbot_components.market_data.resync import ResyncPolicy, ResyncReason, plan_resync
from tradingbot_components.market_data.stream_messages import (
    Channel,
    MessageType,
    NullSink,
    StreamSink,
    book_message,
    gap_notice,
    resync_notice,
    ticker_message,
    trades_message,
)
from tradingbot_components.market_data.symbols import PairPrecision, infer_precision, ws_symbol

log = logging.getLogger(__name__)
_E = TypeVar("_E", Ticker, Trade)

_NO_RESYNC: list[Resync] = []
# Read once per book frame: a module global is several times cheaper than an enum member lookup.
_SNAPSHOT, _IN_SYNC, _BOOK = BookMessageType.SNAPSHOT, BookState.IN_SYNC, Channel.BOOK


class MarketState:
    """The books, tickers and trades of the configured pairs."""

    def __init__(
        self,
        pairs: Sequence[str],
        *,
        depth: int = 10,
        trade_history: int = 100,
        resync_policy: ResyncPolicy | None = None,
        sink: StreamSink | None = None,
        now: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.depth = depth
        self.resync_policy = resync_policy or ResyncPolicy()
        self.sink: StreamSink = sink or NullSink()
        self._now = now
        self._on_change = on_change or (lambda: None)
        self.feeds: dict[str, PairFeed] = {}  # by WS symbol
        for pair in pairs:
            symbol = ws_symbol(pair)
            if symbol in self.feeds:
                raise ValueError(f"pair {pair!r} is configured twice (as {self.feeds[symbol].pair!r})")
            self.feeds[symbol] = PairFeed(pair, symbol, trade_history, state_since=now())
        self.last_gap: Gap | None = None
        self.bad_frames = 0

    # -- reading -----------------------------------------------------------------------------------

    @property
    def pairs(self) -> list[str]:
        return [feed.pair for feed in self.feeds.values()]

    @property
    def symbols(self) -> list[str]:
        return list(self.feeds)

    def feed(self, name: str) -> PairFeed:
        """The feed of a pair, in either spelling."""
        return self.feeds[ws_symbol(name)]

    def all_in_sync(self) -> bool:
        return all(feed.state is BookState.IN_SYNC for feed in self.feeds.values())

    def not_in_sync(self) -> list[PairFeed]:
        return [feed for feed in self.feeds.values() if feed.state is not BookState.IN_SYNC]

    def stalled(self, after: float) -> list[PairFeed]:
        """Books that have been without a valid snapshot for at least `after` seconds."""
        since = self._now() - after
        return [feed for feed in self.not_in_sync() if feed.state_since <= since]

    def snapshot_messages(self, channels: Iterable[Channel], pairs: Iterable[str]) -> list[dict[str, Any]]:
        """What a new stream subscriber gets first: the current state of each channel and pair."""
        wanted = set(channels)
        messages: list[dict[str, Any]] = []
        for pair in pairs:
            feed = self.feed(pair)
            if Channel.BOOK in wanted:
                messages.append(self._book_message(feed, MessageType.SNAPSHOT))
            if Channel.TICKER in wanted:
                messages.append(ticker_message(MessageType.SNAPSHOT, feed.pair, feed.ticker))
            if Channel.TRADE in wanted:
                messages.append(trades_message(MessageType.SNAPSHOT, feed.pair, feed.trades))
        return messages

    # -- what the exchange client tells us ---------------------------------------------------------

    def set_precisions(self, precisions: Mapping[str, PairPrecision]) -> None:
        for symbol, precision in precisions.items():
            if symbol in self.feeds:
                self.feeds[symbol].precision = precision

    def subscribing(self) -> None:
        """A (re)connection is about to subscribe every pair: each waits for its snapshot."""
        for feed in self.feeds.values():
            self._set_state(feed, BookState.AWAITING_SNAPSHOT)
        self._on_change()

    def connection_lost(self) -> None:
        """Every book is invalid from now until its next snapshot; open a gap for each."""
        for feed in self.feeds.values():
            if feed.state is BookState.DISCONNECTED:
                continue
            self._invalidate(feed, ResyncReason.DISCONNECTED)
            self._set_state(feed, BookState.DISCONNECTED)
            self.sink.publish(None, feed.pair, resync_notice(feed.pair, ResyncReason.DISCONNECTED))
        self._on_change()

    def handle(self, frame: Mapping[str, Any]) -> list[Resync]:
        """Apply one decoded data frame (`book`, `ticker`, `trade`; others are ignored)."""
        channel = frame.get("channel")
        if channel == "book":
            return self._on_book(frame)
        if channel == "ticker":
            self._on_ticker(frame)
        elif channel == "trade":
            self._on_trades(frame)
        return _NO_RESYNC

    # -- books -------------------------------------------------------------------------------------

    def _on_book(self, frame: Mapping[str, Any]) -> list[Resync]:
        resyncs = self._on_decoded_update(frame)
        if resyncs is not None:
            return resyncs
        try:
            messages = parse_book_frame(frame)
        except BookFormatError as exc:
            return self._bad_book_frame(frame, exc)
        resyncs = _NO_RESYNC
        for message in messages:
            feed = self.feeds.get(message.symbol)
            if feed is None:
                continue
            if message.type is _SNAPSHOT:
                resync = self._apply_snapshot(feed, message)
            else:
                resync = self._apply_update(feed, message)
            if resync is not None:
                resyncs = [*resyncs, resync]
        return resyncs

    def _on_decoded_update(self, frame: Mapping[str, Any]) -> list[Resync] | None:
        """The usual frame, one symbol's update for an in-sync book, applied straight from the decoded
        dicts (no BookMessages); None, with nothing changed, for any other frame: the general path takes it.
        """
        data = frame.get("data")
        if frame.get("type") != "update" or type(data) is not list or len(data) != 1:
            return None
        entry = data[0]
        symbol = entry.get("symbol") if type(entry) is dict else None
        feed = self.feeds.get(symbol) if type(symbol) is str else None
        if feed is None or feed.state is not _IN_SYNC or feed.book is None:
            return None
        book = feed.book
        try:
            matches = book.apply_decoded_update(entry)
        except (KeyError, TypeError, ArithmeticError):
            # Malformed after all: the parser names the problem, and the bad frame drops this (maybe
            # half-changed) book, exactly as if the general path had rejected the frame up front.
            try:
                parse_book_frame(frame)
            except BookFormatError as exc:
                return self._bad_book_frame(frame, exc)
            raise  # the parser accepts what the fast path did not: a bug, not bad input
        if matches is None:
            return None
        resync = self._verified_update(feed, book, matches, entry["checksum"])
        return _NO_RESYNC if resync is None else [resync]

    def _apply_update(self, feed: PairFeed, message: BookMessage) -> Resync | None:
        book = feed.book
        if feed.state is not _IN_SYNC or book is None:
            feed.ignored += 1  # in flight from before a resync or a disconnect
            return None
        return self._verified_update(feed, book, book.apply_update(message), message.checksum)

    def _verified_update(
        self, feed: PairFeed, book: OrderBook, matches: bool, checksum: int
    ) -> Resync | None:
        if not matches:
            return self._fail(
                feed,
                ResyncReason.CHECKSUM_MISMATCH,
                f"Kraken sent {checksum}, the local book gives {book.checksum()}",
            )
        feed.updates += 1
        feed.checksum = checksum
        feed.last_update = self._now()
        feed.consecutive_failures = 0
        sink = self.sink
        if sink.wants(_BOOK, feed.pair):
            sink.publish(_BOOK, feed.pair, self._book_message(feed, MessageType.UPDATE))
        return None

    def _apply_snapshot(self, feed: PairFeed, message: BookMessage) -> Resync | None:
        precision = feed.precision or infer_precision(message)
        book = OrderBook(
            feed.symbol, self.depth, price_precision=precision.price, qty_precision=precision.qty
        )
        if not book.apply_snapshot(message):
            return self._fail(
                feed,
                ResyncReason.CHECKSUM_MISMATCH,
                f"snapshot: Kraken sent {message.checksum}, the local book gives {book.checksum()}",
            )
        now = self._now()
        feed.book, feed.precision_used, feed.checksum = book, precision, message.checksum
        feed.snapshots += 1
        feed.last_update = now
        self._set_state(feed, BookState.IN_SYNC)
        if feed.gap_started is not None:
            gap = Gap(feed.pair, feed.symbol, feed.gap_reason or "", feed.gap_started, now)
            feed.gap_started = feed.gap_reason = None
            feed.last_gap = self.last_gap = feed.last_gaps[gap.reason] = gap
            feed.gaps += 1
            feed.gap_seconds += gap.seconds
            log.info(
                "%s book valid again after %.3fs (%s)",
                feed.pair,
                gap.seconds,
                gap.reason,
                extra={"pair": feed.pair, "gap_seconds": gap.seconds, "reason": gap.reason},
            )
            self.sink.publish(None, feed.pair, gap_notice(gap))
        self.sink.publish(Channel.BOOK, feed.pair, self._book_message(feed, MessageType.SNAPSHOT))
        self._on_change()
        return None

    def _fail(self, feed: PairFeed, reason: ResyncReason, detail: str) -> Resync:
        feed.failures[reason] += 1
        feed.consecutive_failures += 1
        plan = plan_resync(feed.consecutive_failures, self.resync_policy)
        self._invalidate(feed, reason)
        self._set_state(feed, BookState.RESYNCING)
        log.warning(
            "%s book %s: %s; %s in %.1fs (failure %d in a row)",
            feed.pair,
            reason.value.replace("_", " "),
            detail,
            plan.action.value,
            plan.delay,
            feed.consecutive_failures,
            extra={
                "pair": feed.pair,
                "reason": reason.value,
                "action": plan.action.value,
                "consecutive": feed.consecutive_failures,
            },
        )
        self.sink.publish(None, feed.pair, resync_notice(feed.pair, reason, detail))
        self._on_change()
        return Resync(feed.symbol, reason, plan)

    def _bad_book_frame(self, frame: Mapping[str, Any], error: BookFormatError) -> list[Resync]:
        self.bad_frames += 1
        data = frame.get("data")
        symbols = (
            {e.get("symbol") for e in data if isinstance(e, Mapping)} if isinstance(data, list) else set()
        )
        affected = [self.feeds[s] for s in symbols if s in self.feeds]
        log.warning("malformed book frame: %s", error, extra={"symbols": sorted(f.symbol for f in affected)})
        return [
            self._fail(feed, ResyncReason.BAD_FRAME, str(error))
            for feed in affected
            if feed.state is BookState.IN_SYNC
        ]

    def _invalidate(self, feed: PairFeed, reason: ResyncReason) -> None:
        feed.book = None
        if feed.gap_started is None and feed.ever_synced:
            feed.gap_started, feed.gap_reason = self._now(), reason.value

    def _set_state(self, feed: PairFeed, state: BookState) -> None:
        if feed.state is not state:
            feed.state, feed.state_since = state, self._now()

    def _book_message(self, feed: PairFeed, kind: MessageType) -> dict[str, Any]:
        return book_message(kind, feed.pair, feed.symbol, feed.state.value, feed.book, feed.checksum)

    # -- ticker and trades -------------------------------------------------------------------------

    def _parsed(
        self, frame: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], _E]
    ) -> Iterator[tuple[PairFeed, _E]]:
        """Each well-formed entry of a ticker/trade frame for a configured pair; bad ones are counted."""
        data = frame.get("data")
        if not isinstance(data, list):
            self.bad_frames += 1
            log.warning("%s frame without a data list", frame.get("channel"))
            return
        for entry in data:
            try:
                value = parse(entry if isinstance(entry, Mapping) else {})
            except MarketFormatError as exc:
                self.bad_frames += 1
                log.warning("malformed %s entry: %s", frame.get("channel"), exc)
                continue
            feed = self.feeds.get(value.symbol)
            if feed is not None:
                yield feed, value

    def _on_ticker(self, frame: Mapping[str, Any]) -> None:
        kind = MessageType.SNAPSHOT if frame.get("type") == "snapshot" else MessageType.UPDATE
        for feed, ticker in self._parsed(frame, Ticker.parse):
            feed.ticker, feed.ticker_at = ticker, self._now()
            if self.sink.wants(Channel.TICKER, feed.pair):
                self.sink.publish(Channel.TICKER, feed.pair, ticker_message(kind, feed.pair, ticker))

    def _on_trades(self, frame: Mapping[str, Any]) -> None:
        fresh: dict[str, list[Trade]] = {}
        for feed, trade in self._parsed(frame, Trade.parse):
            if trade.trade_id is not None:
                if feed.last_trade_id is not None and trade.trade_id <= feed.last_trade_id:
                    continue  # a resubscribe's trade snapshot repeats what we have
                feed.last_trade_id = trade.trade_id
            fresh.setdefault(feed.symbol, []).append(trade)
        for symbol, trades in fresh.items():
            feed = self.feeds[symbol]
            feed.trades.extend(trades)
            feed.trades_seen += len(trades)
            if self.sink.wants(Channel.TRADE, feed.pair):
                self.sink.publish(
                    Channel.TRADE, feed.pair, trades_message(MessageType.UPDATE, feed.pair, trades)
                )
