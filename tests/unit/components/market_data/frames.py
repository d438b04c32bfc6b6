"""Book, ticker and trade frames for market data tests: built with correct (or deliberately wrong)
checksums, as decoded frames or as wire text with numbers padded the way Kraken sends them."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradingbot_components.kraken.book import BookMessage, BookMessageType, OrderBook, PriceLevel

D = Decimal
_NUMBER = re.compile(r'"#(-?[0-9.]+)"')


def wire(frame: Any) -> str:
    """JSON text with every Decimal written as a bare number, digits as given (trailing zeros kept)."""

    def encode(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"#{value}"
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        return value

    return _NUMBER.sub(r"\1", json.dumps(encode(frame)))


def level(price: str, qty: str) -> dict[str, Decimal]:
    return {"price": D(price), "qty": D(qty)}


class BookScript:
    """A reference book on the "exchange side": produces frames whose checksums match what it holds."""

    def __init__(
        self, symbol: str = "BTC/USD", depth: int = 10, price_places: int = 1, qty_places: int = 8
    ) -> None:
        self.symbol = symbol
        self.depth = depth
        self.price_places, self.qty_places = price_places, qty_places
        self.book = OrderBook(symbol, depth, price_precision=price_places, qty_precision=qty_places)
        self._ticks = itertools.count(1)

    def _pad(self, levels: list[tuple[str, str]]) -> list[dict[str, Decimal]]:
        return [
            {
                "price": D(price).quantize(D(1).scaleb(-self.price_places)),
                "qty": D(qty).quantize(D(1).scaleb(-self.qty_places)),
            }
            for price, qty in levels
        ]

    def _frame(
        self, kind: str, bids: list[dict[str, Decimal]], asks: list[dict[str, Decimal]], checksum: int
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"symbol": self.symbol, "bids": bids, "asks": asks, "checksum": checksum}
        if kind == "update":
            entry["timestamp"] = f"2024-01-01T00:00:{next(self._ticks) % 60:02d}.000000Z"
        return {"channel": "book", "type": kind, "data": [entry]}

    def _apply(
        self, kind: BookMessageType, bids: list[dict[str, Decimal]], asks: list[dict[str, Decimal]]
    ) -> int:
        message = BookMessage(
            self.symbol,
            kind,
            tuple(PriceLevel(b["price"], b["qty"]) for b in bids),
            tuple(PriceLevel(a["price"], a["qty"]) for a in asks),
            0,
        )
        self.book.apply(message)
        return self.book.checksum()

    def snapshot(self, mid: int = 30000, *, corrupt: bool = False) -> dict[str, Any]:
        bids = self._pad([(str(mid - i), f"{1 + i}.5") for i in range(self.depth)])
        asks = self._pad([(f"{mid + i}.5", f"0.{i + 1}") for i in range(self.depth)])
        checksum = self._apply(BookMessageType.SNAPSHOT, bids, asks)
        return self._frame("snapshot", bids, asks, checksum ^ 1 if corrupt else checksum)

    def update(
        self,
        bids: Sequence[tuple[str, str]] = (),
        asks: Sequence[tuple[str, str]] = (),
        *,
        corrupt: bool = False,
    ) -> dict[str, Any]:
        padded_bids, padded_asks = self._pad(list(bids)), self._pad(list(asks))
        checksum = self._apply(BookMessageType.UPDATE, padded_bids, padded_asks)
        return self._frame("update", padded_bids, padded_asks, checksum ^ 1 if corrupt else checksum)

    def touch(self, n: int, *, corrupt: bool = False) -> dict[str, Any]:
        """A small valid update that changes the best bid's quantity (n makes it differ each time)."""
        best = self.book.best_bid()
        assert best is not None
        return self.update([(str(best.price), f"{n % 7 + 1}.25")], corrupt=corrupt)


def ticker_frame(
    symbol: str = "BTC/USD", bid: str = "30000.0", ask: str = "30000.5", kind: str = "update"
) -> dict[str, Any]:
    return {
        "channel": "ticker",
        "type": kind,
        "data": [
            {
                "symbol": symbol,
                "bid": D(bid),
                "bid_qty": D("1.00000000"),
                "ask": D(ask),
                "ask_qty": D("2.00000000"),
                "last": D(bid),
                "volume": D("123.45600000"),
                "vwap": D(bid),
                "low": D(bid),
                "high": D(ask),
                "change": D("10.0"),
                "change_pct": D("0.03"),
            }
        ],
    }


def trade_frame(symbol: str = "BTC/USD", ids: range = range(1, 4), kind: str = "update") -> dict[str, Any]:
    return {
        "channel": "trade",
        "type": kind,
        "data": [
            {
                "symbol": symbol,
                "side": "buy" if i % 2 else "sell",
                "price": D("30000.1"),
                "qty": D("0.01000000"),
                "ord_type": "market",
                "trade_id": i,
                "timestamp": "2024-01-01T00:00:00.000000Z",
            }
            for i in ids
        ],
    }


class Clock:
    """Settable wall-clock seconds."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
