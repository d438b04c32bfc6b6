"""The records the storage component keeps: orders, fills, balance snapshots and nonce high-water marks.

Domain values inside the process; `api.py` validates what arrives over HTTP and builds these.
Money is `Decimal` end to end (stored as text) so nothing is rounded through a float.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Both SQLite INTEGER and PostgreSQL BIGINT are signed 64-bit.
NONCE_MAX = 2**63 - 1


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(enum.StrEnum):
    """Kraken's order types (WebSocket v2 `add_order`)."""

    MARKET = "market"
    LIMIT = "limit"
    ICEBERG = "iceberg"
    STOP_LOSS = "stop-loss"
    STOP_LOSS_LIMIT = "stop-loss-limit"
    TAKE_PROFIT = "take-profit"
    TAKE_PROFIT_LIMIT = "take-profit-limit"
    TRAILING_STOP = "trailing-stop"
    TRAILING_STOP_LIMIT = "trailing-stop-limit"
    SETTLE_POSITION = "settle-position"


class OrderStatus(enum.StrEnum):
    """Our view of an order: `pending` until the exchange acknowledges it, then Kraken's statuses."""

    PENDING = "pending"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        """No further change can happen to an order in this status."""
        return self in _FINAL


_FINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Order:
    client_order_id: str
    pair: str
    side: Side
    type: OrderType
    volume: Decimal
    price: Decimal | None = None
    status: OrderStatus = OrderStatus.PENDING
    exchange_order_id: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)

    def same_request(self, other: Order) -> bool:
        """True when `other` asks for the same order (a retry), whatever has happened to it since."""
        return (self.pair, self.side, self.type, self.volume, self.price) == (
            other.pair,
            other.side,
            other.type,
            other.volume,
            other.price,
        )

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True)
class Fill:
    """One execution (Kraken's `exec_id`/trade id), idempotent by `fill_id`."""

    fill_id: str
    pair: str
    side: Side
    price: Decimal
    volume: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    client_order_id: str | None = None
    exchange_order_id: str | None = None
    executed_at: datetime = field(default_factory=utc_now)

    def same_execution(self, other: Fill) -> bool:
        """True when `other` reports the same execution (a replay of a stored fill)."""
        return (self.pair, self.side, self.price, self.volume) == (
            other.pair,
            other.side,
            other.price,
            other.volume,
        )

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True)
class BalanceSnapshot:
    """Every asset's balance at one moment (as the balance manager reconciled it)."""

    balances: dict[str, Decimal]
    taken_at: datetime = field(default_factory=utc_now)
    snapshot_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


@dataclass(frozen=True)
class NonceMark:
    """The highest nonce ever reserved for one API key; it only goes up."""

    key_id: str
    high_water: int
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return as_dict(self)


def plain(value: Any) -> Any:
    """A field value as JSON (and database) text: decimals exact, enums by value, times in ISO 8601."""
    if isinstance(value, Decimal | enum.Enum):
        return str(value.value if isinstance(value, enum.Enum) else value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def as_dict(record: Any) -> dict[str, Any]:
    """A record's fields as JSON-able data."""
    return {f.name: plain(getattr(record, f.name)) for f in fields(record)}
