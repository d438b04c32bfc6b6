"""The market values market data keeps per pair besides the book: the last ticker, recent trades, and gaps
in valid data (a disconnect or a resync), parsed from WebSocket v2 frames decoded with `loads_exact`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any


class MarketFormatError(ValueError):
    """A ticker or trade entry without the documented shape."""


def _decimal(entry: Mapping[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    value = entry.get(name)
    if value is None:
        if required:
            raise MarketFormatError(f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise MarketFormatError(f"{name}: expected a number, got {value!r}")
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise MarketFormatError(f"{name}: not a number: {value!r}") from None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Ticker:
    """One `ticker` channel entry (best bid/ask, last trade, 24 h statistics)."""

    symbol: str
    bid: Decimal
    bid_qty: Decimal | None
    ask: Decimal
    ask_qty: Decimal | None
    last: Decimal | None
    volume: Decimal | None
    vwap: Decimal | None
    low: Decimal | None
    high: Decimal | None
    change: Decimal | None
    change_pct: Decimal | None
    timestamp: str | None

    @classmethod
    def parse(cls, entry: Mapping[str, Any]) -> Ticker:
        symbol = entry.get("symbol")
        if not isinstance(symbol, str):
            raise MarketFormatError("symbol: missing")
        bid, ask = _decimal(entry, "bid"), _decimal(entry, "ask")
        assert bid is not None and ask is not None
        optional = {
            name: _decimal(entry, name, required=False)
            for name in (
                "bid_qty",
                "ask_qty",
                "last",
                "volume",
                "vwap",
                "low",
                "high",
                "change",
                "change_pct",
            )
        }
        timestamp = entry.get("timestamp")
        return cls(symbol=symbol, bid=bid, ask=ask, timestamp=timestamp, **optional)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            out[field.name] = _text(value) if isinstance(value, Decimal) else value
        return out


@dataclass(frozen=True, slots=True)
class Trade:
    """One `trade` channel entry: a fill in the public tape."""

    symbol: str
    side: str  # "buy" | "sell": the taker's side
    price: Decimal
    qty: Decimal
    ord_type: str | None
    trade_id: int | None
    timestamp: str | None

    @classmethod
    def parse(cls, entry: Mapping[str, Any]) -> Trade:
        symbol, side = entry.get("symbol"), entry.get("side")
        if not isinstance(symbol, str):
            raise MarketFormatError("symbol: missing")
        if side not in ("buy", "sell"):
            raise MarketFormatError(f"side: expected 'buy' or 'sell', got {side!r}")
        price, qty = _decimal(entry, "price"), _decimal(entry, "qty")
        assert price is not None and qty is not None
        trade_id = entry.get("trade_id")
        return cls(
            symbol=symbol,
            side=side,
            price=price,
            qty=qty,
            ord_type=entry.get("ord_type"),
            trade_id=int(trade_id) if isinstance(trade_id, int | str) else None,
            timestamp=entry.get("timestamp"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "side": self.side,
            "price": str(self.price),
            "qty": str(self.qty),
            "ord_type": self.ord_type,
            "trade_id": self.trade_id,
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of time in which one pair had no valid book: from losing it to the next good snapshot."""

    pair: str
    symbol: str
    reason: str  # a `ResyncReason`
    started: float  # Unix seconds
    ended: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.ended - self.started)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "symbol": self.symbol,
            "reason": self.reason,
            "started": self.started,
            "ended": self.ended,
            "seconds": round(self.seconds, 6),
        }
