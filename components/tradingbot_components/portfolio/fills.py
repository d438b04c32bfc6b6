"""The fills in a WS v2 `executions` frame, as the storage `Fill` records the portfolio keeps. Pure.

Only `exec_type: trade` entries are fills; their `exec_id` is the fill's id (Kraken's trade id, the same
one REST's trade history uses). The time is the exchange's own RFC3339 timestamp, kept to the microsecond
so storage orders fills as they happened.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradingbot_components.kraken.executions import Execution, parse_execution
from tradingbot_components.market_data.symbols import ws_symbol
from tradingbot_components.storage.models import Fill, Side

# What storage accepts as an identifier; a client order id outside it (Kraken allows any short ASCII text)
# is informational only and is left out rather than having the fill refused.
_IDENT = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class ExecutionFills:
    """The fills of one frame, and the fills that could not be read (with why)."""

    fills: list[Fill] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    snapshot: bool = False


def _ident(value: str | None) -> str | None:
    return value if value is not None and _IDENT.match(value) else None


def _executed_at(entry: Mapping[str, Any], execution: Execution) -> dt.datetime:
    raw = entry.get("timestamp")
    if isinstance(raw, str):
        try:
            moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(execution.timestamp, tz=dt.UTC)


def fill_of(entry: Mapping[str, Any]) -> Fill | None:
    """The fill an `executions` entry reports, or None when it reports something else (an order's new
    state). Raises `KeyError`/`ValueError` for an entry that claims a fill but cannot be read."""
    execution = parse_execution(entry)
    if not execution.is_fill:
        return None
    if execution.last_price is None:
        raise ValueError(f"execution {execution.exec_id} has no last_price")
    assert execution.exec_id is not None and execution.last_qty is not None  # is_fill
    return Fill(
        fill_id=execution.exec_id,
        pair=ws_symbol(execution.symbol),
        side=Side(execution.side),
        price=execution.last_price,
        volume=execution.last_qty,
        fee=execution.fee,
        fee_currency=None if execution.fee_asset is None else execution.fee_asset.upper(),
        client_order_id=_ident(execution.cl_ord_id),
        exchange_order_id=_ident(execution.order_id),
        executed_at=_executed_at(entry, execution),
    )


def fills_of(message: Mapping[str, Any]) -> ExecutionFills:
    """Every fill in an `executions` frame. A snapshot's fills are put oldest first (Kraken does not promise
    an order), so fills it brings that were missed are applied in the order they happened."""
    out = ExecutionFills(snapshot=message.get("type") == "snapshot")
    for entry in message.get("data") or []:
        if not isinstance(entry, Mapping):
            out.unreadable.append(f"not an object: {str(entry)[:80]}")
            continue
        try:
            fill = fill_of(entry)
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            if entry.get("exec_type") == "trade":  # a fill we cannot read; anything else is not ours
                out.unreadable.append(f"{type(exc).__name__}: {exc} in {str(dict(entry))[:160]}")
            continue
        if fill is not None:
            out.fills.append(fill)
    if out.snapshot:
        out.fills.sort(key=lambda f: f.executed_at)
    return out
