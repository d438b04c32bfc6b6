"""Frames and reference data as the simulator sends them, for the balance-manager's pure tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingbot_components.balance_manager.assets import AssetNames
from tradingbot_components.balance_manager.holds import PairDirectory
from tradingbot_components.balance_manager.ledger import BalanceLedger, ExchangeBalance

ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2},
}
ASSET_PAIRS = {
    "XXBTZUSD": {
        "altname": "XBTUSD",
        "wsname": "XBT/USD",
        "base": "XXBT",
        "quote": "ZUSD",
        "pair_decimals": 1,
        "lot_decimals": 8,
        "fees": [[0, 0.4]],
        "ordermin": "0.00005",
        "costmin": "0.5",
        "tick_size": "0.1",
    }
}


def directory() -> tuple[AssetNames, PairDirectory]:
    names = AssetNames()
    names.learn_assets(ASSETS)
    pairs = PairDirectory(names)
    pairs.learn(ASSET_PAIRS)
    return names, pairs


def ledger(dust: str = "0.00001") -> BalanceLedger:
    names, pairs = directory()
    return BalanceLedger(names, pairs, dust=Decimal(dust))


def rest(**assets: tuple[str, str]) -> dict[str, ExchangeBalance]:
    """`rest(ZUSD=("100.0000", "0.0000"))` -> a parsed BalanceEx."""
    return {a: ExchangeBalance(Decimal(b), Decimal(h)) for a, (b, h) in assets.items()}


def balances_snapshot(**assets: str) -> dict[str, Any]:
    data = [
        {
            "asset": asset,
            "asset_class": "currency",
            "balance": Decimal(value),
            "wallets": [{"type": "spot", "id": "main", "balance": Decimal(value)}],
        }
        for asset, value in assets.items()
    ]
    return {"channel": "balances", "type": "snapshot", "data": data, "sequence": 1}


def ledger_rows(*rows: tuple[str, str, str], ref_id: str = "T1") -> dict[str, Any]:
    """`ledger_rows(("USD", "-601.2", "99398.8"), ...)`: (asset, amount, balance after)."""
    data = [
        {
            "ledger_id": f"L{i}",
            "ref_id": ref_id,
            "type": "trade",
            "asset": asset,
            "asset_class": "currency",
            "wallet_type": "spot",
            "wallet_id": "main",
            "amount": Decimal(amount),
            "fee": Decimal(0),
            "balance": Decimal(after),
        }
        for i, (asset, amount, after) in enumerate(rows)
    ]
    return {"channel": "balances", "type": "update", "data": data, "sequence": 2}


def order(
    order_id: str = "O1",
    *,
    exec_type: str = "new",
    side: str = "buy",
    qty: str = "0.01",
    cum: str = "0",
    price: str | None = "60000.0",
    status: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "exec_type": exec_type,
        "order_id": order_id,
        "symbol": "BTC/USD",
        "side": side,
        "order_type": "limit" if price else "market",
        "order_qty": Decimal(qty),
        "cum_qty": Decimal(cum),
        "order_status": status or ("new" if exec_type in ("new", "pending_new") else exec_type),
        "timestamp": "2026-01-01T00:00:00.000000Z",
        **extra,
    }
    if price is not None:
        entry["limit_price"] = Decimal(price)
    return entry


def executions(*entries: dict[str, Any], snapshot: bool = False) -> dict[str, Any]:
    return {"channel": "executions", "type": "snapshot" if snapshot else "update", "data": list(entries)}


def fill(order_id: str, exec_id: str, qty: str, price: str) -> dict[str, Any]:
    """The `trade` entry of a fill that completes a buy order of `qty` (its `filled` entry follows)."""
    return order(
        order_id,
        exec_type="trade",
        qty=qty,
        cum=qty,
        price=price,
        status="partially_filled",
        exec_id=exec_id,
        last_qty=Decimal(qty),
        last_price=Decimal(price),
    )
