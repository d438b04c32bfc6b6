"""The book a `book` subscriber holds after the frames the simulator sent, and Kraken's WebSocket v2
checksum over it, written from Kraken's "Book checksum (WebSocket v2)" guide alone.

Separate from the clients' `kraken.book` on purpose: the simulator's checksums are what the clients'
books are judged against, so they must not come from the same code. The guide's rules, as implemented:
apply every level of a message (qty 0 deletes), truncate each side to the subscribed depth, then take the
top 10 asks (low to high) and the top 10 bids (high to low); each price and qty as its decimal text at
full precision with the `.` removed and the leading zeros stripped; CRC32 of asks then bids, unsigned.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

CHECKSUM_DEPTH = 10  # the checksum covers 10 levels per side whatever the subscribed depth
BOOK_DEPTHS: frozenset[int] = frozenset({10, 25, 100, 500, 1000})  # depths Kraken's `book` accepts


class Level(NamedTuple):
    price: Decimal
    qty: Decimal


def checksum_digits(value: Decimal, decimals: int) -> str:
    """One number as the checksum reads it: `decimals` places, no `.`, no leading zeros."""
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def book_checksum(
    asks: Iterable[Level], bids: Iterable[Level], price_decimals: int, qty_decimals: int
) -> int:
    """Kraken's checksum of a book given best-first asks and bids (only the first 10 of each count)."""
    parts: list[str] = []
    for side in (asks, bids):
        for count, (price, qty) in enumerate(side):
            if count == CHECKSUM_DEPTH:
                break
            parts.append(checksum_digits(price, price_decimals) + checksum_digits(qty, qty_decimals))
    return zlib.crc32("".join(parts).encode("ascii")) & 0xFFFFFFFF


class _Side:
    """Price -> qty, with the prices kept sorted ascending for truncation and best-first reads."""

    def __init__(self, best_is_highest: bool) -> None:
        self.best_is_highest = best_is_highest
        self.qty: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def set(self, price: Decimal, qty: Decimal) -> None:
        known = price in self.qty
        if qty == 0:
            if known:
                del self.qty[price]
                self.prices.pop(bisect_left(self.prices, price))
            return
        if not known:
            self.prices.insert(bisect_left(self.prices, price), price)
        self.qty[price] = qty

    def truncate(self, depth: int) -> None:
        excess = len(self.prices) - depth
        if excess <= 0:
            return
        # The worst levels fall out of scope: the lowest bids, the highest asks.
        dropped = self.prices[:excess] if self.best_is_highest else self.prices[depth:]
        self.prices = self.prices[excess:] if self.best_is_highest else self.prices[:depth]
        for price in dropped:
            del self.qty[price]

    def best_first(self, count: int | None) -> list[Level]:
        prices = self.prices[::-1] if self.best_is_highest else self.prices
        return [Level(price, self.qty[price]) for price in prices[:count]]


class FeedBook:
    """One symbol's book at a subscribed depth, with prices and quantities at the pair's precision."""

    def __init__(self, depth: int, price_decimals: int, qty_decimals: int) -> None:
        if depth not in BOOK_DEPTHS:
            raise ValueError(f"depth must be one of {sorted(BOOK_DEPTHS)}, got {depth}")
        self.depth = depth
        self.price_decimals = price_decimals
        self.qty_decimals = qty_decimals
        self._bids = _Side(best_is_highest=True)
        self._asks = _Side(best_is_highest=False)

    def replace(
        self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]
    ) -> None:
        """A snapshot: the book becomes exactly these levels (truncated to the depth)."""
        self._bids = _Side(best_is_highest=True)
        self._asks = _Side(best_is_highest=False)
        self.apply(bids, asks)

    def apply(self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]]) -> None:
        """An update: set each level (qty 0 deletes), then truncate both sides to the depth."""
        for side, levels in ((self._bids, bids), (self._asks, asks)):
            for price, qty in levels:
                side.set(price, qty)
            side.truncate(self.depth)

    def bids(self, count: int | None = None) -> list[Level]:
        """Bids, best (highest) first: the `count` best, or all."""
        return self._bids.best_first(count)

    def asks(self, count: int | None = None) -> list[Level]:
        """Asks, best (lowest) first: the `count` best, or all."""
        return self._asks.best_first(count)

    def checksum(self) -> int:
        return book_checksum(
            self.asks(CHECKSUM_DEPTH), self.bids(CHECKSUM_DEPTH), self.price_decimals, self.qty_decimals
        )
