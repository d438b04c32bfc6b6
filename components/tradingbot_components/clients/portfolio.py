"""What portfolio serves on `GET /positions`, as typed values, and its client.

    {"positions": [{"pair": "BTC/USD", "quantity": "0.01", "average_price": "50000.0",
                    "market_price": "50100.0", "unrealized_pnl": "1.00", "exposure": "501.00"}],
     "realized_pnl": "12.34", "fills": 7}

Pairs in WS v2 spelling (`BTC/USD`); every amount a decimal string in the quote currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingbot_components.clients.base import JsonService


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def decimal_text(value: Decimal) -> str:
    """Plain decimal notation, never an exponent (`0E-9` -> `0.000000000`) nor a negative zero."""
    return format(value if value else abs(value), "f")


@dataclass(frozen=True, slots=True)
class Position:
    pair: str
    quantity: Decimal
    average_price: Decimal
    market_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    realized_pnl: Decimal = Decimal(0)

    @property
    def exposure(self) -> Decimal | None:
        """Position value at the market price, in the quote currency."""
        return None if self.market_price is None else self.quantity * self.market_price

    def to_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else decimal_text(value)

        return {
            "pair": self.pair,
            "quantity": decimal_text(self.quantity),
            "average_price": decimal_text(self.average_price),
            "market_price": text(self.market_price),
            "unrealized_pnl": text(self.unrealized_pnl),
            "realized_pnl": decimal_text(self.realized_pnl),
            "exposure": text(self.exposure),
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Position:
        return cls(
            pair=str(entry["pair"]),
            quantity=Decimal(str(entry["quantity"])),
            average_price=Decimal(str(entry["average_price"])),
            market_price=_decimal(entry.get("market_price")),
            unrealized_pnl=_decimal(entry.get("unrealized_pnl")),
            realized_pnl=Decimal(str(entry.get("realized_pnl") or "0")),
        )


@dataclass(frozen=True, slots=True)
class PortfolioView:
    positions: tuple[Position, ...]
    realized_pnl: Decimal
    fills: int

    def position(self, pair: str) -> Position | None:
        return next((p for p in self.positions if p.pair == pair), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "positions": [p.to_dict() for p in self.positions],
            "realized_pnl": decimal_text(self.realized_pnl),
            "fills": self.fills,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> PortfolioView:
        return cls(
            tuple(Position.from_dict(p) for p in document.get("positions") or []),
            Decimal(str(document.get("realized_pnl") or "0")),
            int(document.get("fills") or 0),
        )


class PortfolioClient(JsonService):
    """HTTP client of `endpoints.portfolio`."""

    service = "portfolio"

    async def positions(self) -> PortfolioView:
        return PortfolioView.from_dict(await self.call("GET", "/positions"))
