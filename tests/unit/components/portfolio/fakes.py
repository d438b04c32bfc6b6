"""Fills and executions frames for the portfolio tests, shaped as the storage records and as Kraken's WS v2
`executions` entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tradingbot_components.storage.models import Fill, Side

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def fill(
    fill_id: str,
    side: str,
    volume: str,
    price: str,
    *,
    fee: str = "0",
    fee_currency: str | None = "USD",
    pair: str = "BTC/USD",
    second: float = 0,
) -> Fill:
    return Fill(
        fill_id=fill_id,
        pair=pair,
        side=Side(side),
        price=Decimal(price),
        volume=Decimal(volume),
        fee=Decimal(fee),
        fee_currency=fee_currency,
        executed_at=T0 + dt.timedelta(seconds=second),
    )


def execution(
    exec_id: str | None,
    *,
    exec_type: str = "trade",
    side: str = "buy",
    qty: str = "0.01",
    price: str = "50000.1",
    fee: str = "1.30003",
    fee_asset: str = "USD",
    symbol: str = "BTC/USD",
    timestamp: str = "2026-05-01T12:00:00.123456Z",
    cl_ord_id: str | None = "entry-1",
) -> dict[str, Any]:
    """One `executions` entry as the frame is decoded (`parse_float=Decimal`)."""
    entry: dict[str, Any] = {
        "exec_type": exec_type,
        "order_id": "OQCLML-BW3P3-BUCMWZ",
        "symbol": symbol,
        "side": side,
        "order_type": "limit",
        "order_qty": Decimal(qty),
        "cum_qty": Decimal(qty),
        "cum_cost": Decimal(qty) * Decimal(price),
        "avg_price": Decimal(price),
        "order_status": "filled",
        "timestamp": timestamp,
    }
    if cl_ord_id is not None:
        entry["cl_ord_id"] = cl_ord_id
    if exec_id is not None:
        entry.update(
            exec_id=exec_id,
            trade_id=123,
            last_qty=Decimal(qty),
            last_price=Decimal(price),
            fees=[{"asset": fee_asset, "qty": Decimal(fee)}],
        )
    return entry


def frame(*entries: dict[str, Any], kind: str = "update") -> dict[str, Any]:
    return {"channel": "executions", "type": kind, "data": list(entries), "sequence": 1}
