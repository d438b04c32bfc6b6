"""An L2 order book for Kraken's WebSocket v2 `book` channel, with Kraken's CRC32 checksum.

Pure and synchronous: the WS client feeds it parsed messages (or, on the hot path, `loads_exact`'s decoded
entries) and resubscribes when a checksum fails. Prices and quantities are `Decimal` end to end, with the
digits Kraken sent; each side keeps a sorted price list (updated with `bisect`) plus each level's checksum
text, so an update costs O(levels in the message) and a checksum joins ten cached strings.
bench/book_throughput.py measures the hot path. The frames themselves are `book_frames`' concern.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from tradingbot_components.kraken.book_frames import (
    NO_LEVELS,
    BookFormatError,
    BookMessage,
    BookMessageType,
    BookRecording,
    PriceLevel,
    exact_decimal,
    load_recording,
    loads_exact,
    parse_book_frame,
)

__all__ = [
    "BOOK_DEPTHS",
    "CHECKSUM_LEVELS",
    "BookError",
    "BookFormatError",
    "BookMessage",
    "BookMessageType",
    "BookRecording",
    "ChecksumMismatch",
    "OrderBook",
    "PriceLevel",
    "load_recording",
    "loads_exact",
    "parse_book_frame",
]

# The depths Kraken accepts in a v2 book subscription.
BOOK_DEPTHS: frozenset[int] = frozenset({10, 25, 100, 500, 1000})
CHECKSUM_LEVELS = 10  # the checksum always covers the top 10 levels of each side
_PRICE_QTY = itemgetter("price", "qty")  # a decoded level -> (price, qty), in C
# `PriceLevel(p, q)` goes through the named tuple's Python-level `__new__`; this is the same tuple, 2x faster.
_new_tuple = tuple.__new__


class BookError(Exception):
    """The book cannot follow the stream; the client should resubscribe."""


class ChecksumMismatch(BookError):
    """The local book no longer matches Kraken's: drop it and resubscribe for a fresh snapshot."""

    def __init__(self, symbol: str, expected: int, actual: int) -> None:
        self.symbol = symbol
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{symbol} book checksum mismatch: Kraken sent {expected}, the local book gives {actual}; "
            "drop the book and resubscribe for a fresh snapshot"
        )


def _format_spec(precision: int | None) -> str:
    return "f" if precision is None else f".{precision}f"


class _Side:
    """One side of the book as parallel lists in ascending price order (bids are read from the end, so both
    sides read best first): the prices, each level as sent, and each level's checksum text. Lists rather
    than dicts: a checksum joins a slice, and Kraken's depths are small enough for `list.insert`."""

    __slots__ = ("_best_high", "_price_spec", "_qty_spec", "levels", "price_texts", "prices", "text", "texts")

    def __init__(self, best_high: bool, price_spec: str, qty_spec: str) -> None:
        self._best_high = best_high
        self._price_spec = price_spec
        self._qty_spec = qty_spec
        self.prices: list[Decimal] = []
        self.levels: list[PriceLevel] = []
        # Kept apart: a level's price does not change, its qty does. (At the pair's precision a price always
        # has the same text; without one, a level keeps the digits of the message that added it.)
        self.price_texts: list[str] = []
        self.texts: list[str] = []  # price text + qty text
        self.text: bytes | None = None  # the side's part of the checksum string; None when it changed

    def apply(self, changes: Iterable[tuple[Any, Any]], depth: int) -> None:
        """Apply (price, qty) pairs: `PriceLevel`s, or pairs straight from a decoded frame (converted to
        `Decimal` here when they are not already, as `parse_book_frame` would)."""
        prices, levels, price_texts, texts = self.prices, self.levels, self.price_texts, self.texts
        qty_spec = self._qty_spec
        for level in changes:
            price, qty = level
            if type(price) is not Decimal or type(qty) is not Decimal:
                price, qty = level = exact_decimal(price), exact_decimal(qty)
            index = bisect_left(prices, price)
            # Checksum text: each number at its precision, '.' removed, leading zeros stripped.
            if index < len(prices) and prices[index] == price:
                if qty:
                    levels[index] = level if type(level) is PriceLevel else _new_tuple(PriceLevel, level)
                    texts[index] = price_texts[index] + format(qty, qty_spec).replace(".", "").lstrip("0")
                else:  # a zero quantity deletes the level
                    del prices[index], levels[index], price_texts[index], texts[index]
            elif qty:
                price_text = format(price, self._price_spec).replace(".", "").lstrip("0")
                prices.insert(index, price)
                levels.insert(index, level if type(level) is PriceLevel else _new_tuple(PriceLevel, level))
                price_texts.insert(index, price_text)
                texts.insert(index, price_text + format(qty, qty_spec).replace(".", "").lstrip("0"))
        if len(prices) > depth:  # the worst levels fall off: the lowest bids, the highest asks
            if self._best_high:
                excess = len(prices) - depth
                del prices[:excess], levels[:excess], price_texts[:excess], texts[:excess]
            else:
                del prices[depth:], levels[depth:], price_texts[depth:], texts[depth:]
        self.text = None

    def clear(self) -> None:
        for values in (self.prices, self.levels, self.price_texts, self.texts):
            values.clear()
        self.text = None

    def top(self, count: int | None) -> list[PriceLevel]:
        """Levels best first: the `count` best, or all."""
        levels = self.levels
        if self._best_high:
            return levels[::-1] if count is None else levels[: -count - 1 : -1]
        return levels[:] if count is None else levels[:count]

    def checksum_bytes(self) -> bytes:
        """The side's part of the checksum string: its top 10 levels' digits, best first."""
        text = self.text
        if text is None:
            texts = self.texts
            best = texts[: -CHECKSUM_LEVELS - 1 : -1] if self._best_high else texts[:CHECKSUM_LEVELS]
            text = self.text = "".join(best).encode()
        return text


class OrderBook:
    """The local copy of one symbol's book at the subscribed depth.

    Pass `price_precision`/`qty_precision` (WS `price_precision`/`qty_precision`, REST
    `pair_decimals`/`lot_decimals`) when messages may have lost trailing zeros, e.g. parsed as floats;
    without them the checksum uses each number's digits exactly as parsed.
    """

    def __init__(
        self,
        symbol: str,
        depth: int = 10,
        *,
        price_precision: int | None = None,
        qty_precision: int | None = None,
    ) -> None:
        if depth not in BOOK_DEPTHS:
            raise ValueError(
                f"depth must be one of {sorted(BOOK_DEPTHS)} (Kraken's book depths), got {depth}"
            )
        for name, precision in (("price_precision", price_precision), ("qty_precision", qty_precision)):
            if precision is not None and precision < 0:
                raise ValueError(f"{name} must be >= 0, got {precision}")
        self.symbol = symbol
        self.depth = depth
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        price_spec, qty_spec = _format_spec(price_precision), _format_spec(qty_precision)
        self._bids = _Side(True, price_spec, qty_spec)
        self._asks = _Side(False, price_spec, qty_spec)
        self._asks_crc: int | None = None  # CRC32 of the asks' part; None when the asks changed
        self._has_snapshot = False
        self._in_sync = False

    @property
    def in_sync(self) -> bool:
        """True after a snapshot while every checksum since has matched."""
        return self._in_sync

    def _apply_changes(
        self, bids: Iterable[tuple[Any, Any]], asks: Iterable[tuple[Any, Any]], checksum: int
    ) -> bool:
        """Apply both sides' changes (each skipped when empty) and compare the checksum with Kraken's."""
        if bids:
            self._bids.apply(bids, self.depth)
        if asks:
            self._asks.apply(asks, self.depth)
            self._asks_crc = None
        matches = self.checksum() == checksum
        self._in_sync = self._in_sync and matches
        return matches

    def _wrong_symbol(self, symbol: object) -> ValueError:
        return ValueError(f"message for {symbol} applied to the {self.symbol} book")

    def _no_snapshot(self) -> BookError:
        return BookError(
            f"{self.symbol} book got an update before its snapshot; subscribe with snapshot=true"
        )

    def apply_snapshot(self, message: BookMessage) -> bool:
        """Replace the book with a snapshot; True when its checksum matches."""
        if message.symbol != self.symbol:
            raise self._wrong_symbol(message.symbol)
        self._bids.clear()
        self._asks.clear()
        self._asks_crc = None
        self._has_snapshot = True
        self._in_sync = True
        return self._apply_changes(message.bids, message.asks, message.checksum)

    def apply_update(self, message: BookMessage) -> bool:
        """Apply changed levels (qty 0 deletes), truncate to depth; True when the checksum matches."""
        if not self._has_snapshot:
            raise self._no_snapshot()
        if message.symbol != self.symbol:
            raise self._wrong_symbol(message.symbol)
        return self._apply_changes(message.bids, message.asks, message.checksum)

    def apply_decoded_update(self, entry: Mapping[str, Any]) -> bool | None:
        """`apply_update` for one entry of an `update` frame as `loads_exact` decoded it, without building
        a `BookMessage`: the market-data hot path. True or False as `apply_update` of that entry parsed by
        `parse_book_frame` would return; None, with the book unchanged, when the entry's fields are not the
        types `loads_exact` gives a well-formed one (bids and asks lists, an int checksum): parse it then.
        A malformed level raises KeyError, TypeError or ArithmeticError, possibly after changing the book:
        drop the book then, and let `parse_book_frame` name what is wrong."""
        if not self._has_snapshot:
            raise self._no_snapshot()
        symbol, bids, asks, checksum = entry["symbol"], entry["bids"], entry["asks"], entry["checksum"]
        if symbol != self.symbol:
            raise self._wrong_symbol(symbol)
        if type(bids) is not list or type(asks) is not list or type(checksum) is not int:
            return None
        return self._apply_changes(
            map(_PRICE_QTY, bids) if bids else NO_LEVELS,
            map(_PRICE_QTY, asks) if asks else NO_LEVELS,
            checksum,
        )

    def apply(self, message: BookMessage) -> bool:
        """Apply a snapshot or an update; True when the checksum matches."""
        if message.type is BookMessageType.SNAPSHOT:
            return self.apply_snapshot(message)
        return self.apply_update(message)

    def apply_checked(self, message: BookMessage) -> None:
        """Apply a message; raise `ChecksumMismatch` (the client resubscribes) when it does not verify."""
        if not self.apply(message):
            raise ChecksumMismatch(self.symbol, message.checksum, self.checksum())

    def checksum_text(self) -> str:
        """The string Kraken's checksum runs over: top-10 asks, then top-10 bids, as digits."""
        return (self._asks.checksum_bytes() + self._bids.checksum_bytes()).decode()

    def checksum(self) -> int:
        """Kraken's v2 book checksum (CRC32 over asks then bids, unsigned) of the current book."""
        asks_crc = self._asks_crc
        if asks_crc is None:  # most updates touch one side: the asks' CRC is kept for the bids to continue
            asks_crc = self._asks_crc = zlib.crc32(self._asks.checksum_bytes())
        return zlib.crc32(self._bids.text or self._bids.checksum_bytes(), asks_crc)

    def bids(self, count: int | None = None) -> list[PriceLevel]:
        """Bids, best (highest) first."""
        return self._bids.top(count)

    def asks(self, count: int | None = None) -> list[PriceLevel]:
        """Asks, best (lowest) first."""
        return self._asks.top(count)

    def best_bid(self) -> PriceLevel | None:
        top = self._bids.top(1)
        return top[0] if top else None

    def best_ask(self) -> PriceLevel | None:
        top = self._asks.top(1)
        return top[0] if top else None
