"""An L2 order book for Kraken's WebSocket v2 `book` channel, with Kraken's CRC32 checksum.

Pure and synchronous: the WS client feeds it parsed messages and resubscribes when a checksum fails.
Prices and quantities are `Decimal` end to end; each side keeps a sorted key list (updated with `bisect`)
plus a cache of each level's checksum text, so an update costs O(levels in the message + depth).
"""

from __future__ import annotations

import enum
import json
import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

# The depths Kraken accepts in a v2 book subscription.
BOOK_DEPTHS: frozenset[int] = frozenset({10, 25, 100, 500, 1000})
CHECKSUM_LEVELS = 10  # the checksum always covers the top 10 levels of each side
_ZERO = Decimal(0)


class PriceLevel(NamedTuple):
    price: Decimal
    qty: Decimal


class BookMessageType(enum.StrEnum):
    SNAPSHOT = "snapshot"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class BookMessage:
    """One entry of a `book` frame's `data` list: the levels that changed for one symbol."""

    symbol: str
    type: BookMessageType
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    checksum: int
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class BookRecording:
    """A recorded book stream: one snapshot and the updates that followed it."""

    snapshot: BookMessage
    updates: tuple[BookMessage, ...]


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


class BookFormatError(ValueError):
    """A `book` frame that does not have the documented shape."""


def loads_exact(text: str | bytes) -> Any:
    """`json.loads` that keeps Kraken's numbers exact (floats become `Decimal`, digits as sent)."""
    return json.loads(text, parse_float=Decimal)


def _decimal(value: object) -> Decimal:
    if type(value) is Decimal:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest repr: the digits that were on the wire, minus trailing zeros
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"expected a number, got {value!r}")


def _levels(raw: Sequence[Mapping[str, Any]], where: str) -> tuple[PriceLevel, ...]:
    try:
        return tuple([PriceLevel(_decimal(level["price"]), _decimal(level["qty"])) for level in raw])
    except (KeyError, TypeError, ArithmeticError):
        pass
    # Slow path, only for bad input: find the offending field to name it.
    if not isinstance(raw, list):
        raise BookFormatError(f"{where}: expected a list of {{price, qty}} levels")
    for index, level in enumerate(raw):
        for field in ("price", "qty"):
            try:
                _decimal(level[field])
            except KeyError:
                raise BookFormatError(f"{where}[{index}].{field}: missing") from None
            except (TypeError, ArithmeticError) as error:
                raise BookFormatError(f"{where}[{index}].{field}: {error}") from None
    raise BookFormatError(f"{where}: malformed levels")


def parse_book_frame(frame: Mapping[str, Any]) -> list[BookMessage]:
    """The typed messages of one decoded `book` frame (decode with `loads_exact`)."""
    if frame.get("channel") != "book":
        raise BookFormatError(f"channel: expected 'book', got {frame.get('channel')!r}")
    try:
        kind = BookMessageType(str(frame.get("type")))
    except ValueError:
        raise BookFormatError(f"type: expected 'snapshot' or 'update', got {frame.get('type')!r}") from None
    data = frame.get("data")
    if not isinstance(data, list):
        raise BookFormatError("data: expected a list of book entries")
    messages: list[BookMessage] = []
    for index, entry in enumerate(data):
        try:
            messages.append(
                BookMessage(
                    symbol=entry["symbol"],
                    type=kind,
                    bids=_levels(entry["bids"], f"data[{index}].bids"),
                    asks=_levels(entry["asks"], f"data[{index}].asks"),
                    checksum=int(entry["checksum"]),
                    timestamp=entry.get("timestamp"),
                )
            )
        except KeyError as error:
            raise BookFormatError(f"data[{index}].{error.args[0]}: missing") from None
        except (TypeError, ValueError) as error:
            if isinstance(error, BookFormatError):
                raise
            raise BookFormatError(f"data[{index}]: {error}") from None
    return messages


def load_recording(path: str | Path) -> BookRecording:
    """Load a recording shaped like `{"init": <snapshot frame>, "updates": [<update frame>, ...]}`."""
    document = loads_exact(Path(path).read_bytes())
    try:
        (snapshot,) = parse_book_frame(document["init"])
        updates = tuple(message for frame in document["updates"] for message in parse_book_frame(frame))
    except (KeyError, ValueError) as error:
        raise BookFormatError(f"{path}: not a book recording ({error})") from None
    return BookRecording(snapshot=snapshot, updates=updates)


def _format_spec(precision: int | None) -> str:
    return "f" if precision is None else f".{precision}f"


class _Side:
    """One side of the book. Keys sort best-first ascending: the price for asks, minus the price for bids."""

    __slots__ = ("_checksum_bytes", "_negate", "_price_spec", "_qty_spec", "keys", "levels", "text")

    def __init__(self, negate: bool, price_spec: str, qty_spec: str) -> None:
        self._negate = negate
        self._price_spec = price_spec
        self._qty_spec = qty_spec
        self.keys: list[Decimal] = []
        self.levels: dict[Decimal, PriceLevel] = {}
        self.text: dict[Decimal, str] = {}  # checksum text of each level: price digits + qty digits
        self._checksum_bytes: bytes | None = None  # cached; None when the side changed since

    def apply(self, changes: Iterable[PriceLevel], depth: int) -> None:
        keys, levels, text, negate = self.keys, self.levels, self.text, self._negate
        price_spec, qty_spec = self._price_spec, self._qty_spec
        for level in changes:
            price, qty = level
            key = -price if negate else price
            if qty == _ZERO:
                if key in levels:
                    del levels[key]
                    del text[key]
                    del keys[bisect_left(keys, key)]
                continue
            if key not in levels:
                insort(keys, key)
            levels[key] = level
            # Checksum text: each number at its precision, '.' removed, leading zeros stripped.
            text[key] = format(price, price_spec).replace(".", "").lstrip("0") + format(
                qty, qty_spec
            ).replace(".", "").lstrip("0")
        if len(keys) > depth:
            for key in keys[depth:]:
                del levels[key]
                del text[key]
            del keys[depth:]
        self._checksum_bytes = None

    def clear(self) -> None:
        self.keys.clear()
        self.levels.clear()
        self.text.clear()
        self._checksum_bytes = None

    def top(self, count: int | None) -> list[PriceLevel]:
        levels = self.levels
        return [levels[key] for key in (self.keys if count is None else self.keys[:count])]

    def checksum_bytes(self) -> bytes:
        cached = self._checksum_bytes
        if cached is None:
            text = self.text
            cached = self._checksum_bytes = "".join(
                [text[key] for key in self.keys[:CHECKSUM_LEVELS]]
            ).encode()
        return cached


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
        self._has_snapshot = False
        self._in_sync = False

    @property
    def in_sync(self) -> bool:
        """True after a snapshot while every checksum since has matched."""
        return self._in_sync

    def _check_symbol(self, message: BookMessage) -> None:
        if message.symbol != self.symbol:
            raise ValueError(f"message for {message.symbol} applied to the {self.symbol} book")

    def _apply_levels(self, message: BookMessage) -> bool:
        if message.bids:
            self._bids.apply(message.bids, self.depth)
        if message.asks:
            self._asks.apply(message.asks, self.depth)
        matches = self.checksum() == message.checksum
        self._in_sync = self._in_sync and matches
        return matches

    def apply_snapshot(self, message: BookMessage) -> bool:
        """Replace the book with a snapshot; True when its checksum matches."""
        self._check_symbol(message)
        self._bids.clear()
        self._asks.clear()
        self._has_snapshot = True
        self._in_sync = True
        return self._apply_levels(message)

    def apply_update(self, message: BookMessage) -> bool:
        """Apply changed levels (qty 0 deletes), truncate to depth; True when the checksum matches."""
        if not self._has_snapshot:
            raise BookError(
                f"{self.symbol} book got an update before its snapshot; subscribe with snapshot=true"
            )
        self._check_symbol(message)
        return self._apply_levels(message)

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
        return zlib.crc32(self._bids.checksum_bytes(), zlib.crc32(self._asks.checksum_bytes()))

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
