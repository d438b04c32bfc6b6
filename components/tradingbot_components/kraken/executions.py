"""WS v2 `executions` entries as typed values: what happened to an order (`exec_type`), and for a fill the
execution itself. Shared by the trader (its orders' states), portfolio (fills) and balance-manager (what
open orders hold). Amounts are `Decimal` (the frame is decoded with `parse_float=Decimal`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class OrderState(enum.StrEnum):
    """Kraken's WS v2 `order_status`."""

    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def open(self) -> bool:
        return self in (OrderState.PENDING_NEW, OrderState.NEW, OrderState.PARTIALLY_FILLED)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _opt(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


def _time(value: Any) -> float:
    if isinstance(value, int | float | Decimal):
        return float(value)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Execution:
    """One `executions` entry. `exec_id`, `last_qty`, `last_price` and `fee` are set for fills."""

    exec_type: str
    order_id: str
    symbol: str
    side: str
    order_type: str
    order_status: OrderState
    order_qty: Decimal | None
    cum_qty: Decimal
    cum_cost: Decimal
    avg_price: Decimal | None
    limit_price: Decimal | None
    cl_ord_id: str | None
    timestamp: float
    exec_id: str | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_asset: str | None = None
    reason: str | None = None

    @property
    def is_fill(self) -> bool:
        return self.exec_type == "trade" and self.exec_id is not None and self.last_qty is not None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.order_qty is None else self.order_qty - self.cum_qty


def parse_execution(entry: Mapping[str, Any]) -> Execution:
    """Raises `KeyError`/`ValueError` for an entry without the fields every execution has."""
    fees = entry.get("fees") or []
    fee = sum((_dec(f.get("qty", 0)) for f in fees if isinstance(f, Mapping)), Decimal(0))
    fee_asset = next((str(f["asset"]) for f in fees if isinstance(f, Mapping) and "asset" in f), None)
    status = str(entry.get("order_status") or entry.get("exec_type"))
    return Execution(
        exec_type=str(entry["exec_type"]),
        order_id=str(entry["order_id"]),
        symbol=str(entry.get("symbol") or ""),
        side=str(entry.get("side") or ""),
        order_type=str(entry.get("order_type") or ""),
        order_status=OrderState(status) if status in OrderState.__members__.values() else OrderState.NEW,
        order_qty=_opt(entry.get("order_qty")),
        cum_qty=_dec(entry.get("cum_qty", 0)),
        cum_cost=_dec(entry.get("cum_cost", 0)),
        avg_price=_opt(entry.get("avg_price")),
        limit_price=_opt(entry.get("limit_price")),
        cl_ord_id=entry.get("cl_ord_id"),
        timestamp=_time(entry.get("timestamp") or 0),
        exec_id=None if entry.get("exec_id") is None else str(entry["exec_id"]),
        last_qty=_opt(entry.get("last_qty")),
        last_price=_opt(entry.get("last_price")),
        fee=fee,
        fee_asset=fee_asset,
        reason=entry.get("reason"),
    )
