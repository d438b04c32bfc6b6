"""How orders, fills and balances look on the wire: REST result objects (decimal strings, Kraken ids)
and WS v2 `executions` / `balances` entries (JSON numbers at full precision, v2 asset names).

Pure rendering of engine state.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingbot_components.exchange_sim.accounts import Account, LedgerRow
from tradingbot_components.exchange_sim.catalog import Asset, Catalog, asset_for
from tradingbot_components.exchange_sim.engine import Engine
from tradingbot_components.exchange_sim.orders import Fill, Order, OrderStatus, OrderType, describe
from tradingbot_components.exchange_sim.wire import fixed, num, rest_time, rfc3339


def _oflags(order: Order) -> str:
    return "fciq,post" if order.request.post_only else "fciq"


def order_view(order: Order, *, trades: bool = False) -> dict[str, Any]:
    """One order as OpenOrders / ClosedOrders / QueryOrders show it."""
    pair, request = order.pair, order.request
    price = request.price if request.price is not None else Decimal(0)
    body: dict[str, Any] = {
        "refid": None,
        "userref": request.userref if request.userref is not None else 0,
        "status": order.status.value,
        "opentm": rest_time(order.opentm),
        "starttm": 0,
        "expiretm": rest_time(request.expiretm) if request.expiretm else 0,
        "descr": {
            "pair": pair.altname,
            "type": request.side.value,
            "ordertype": request.ordertype.value,
            "price": fixed(price, pair.pair_decimals),
            "price2": fixed(Decimal(0), pair.pair_decimals),
            "leverage": "none",
            "order": describe(request),
            "close": "",
        },
        "vol": fixed(request.volume, pair.lot_decimals),
        "vol_exec": fixed(order.vol_exec, pair.lot_decimals),
        "cost": fixed(order.cost, pair.cost_decimals),
        "fee": fixed(order.fee, pair.cost_decimals),
        "price": fixed(order.avg_price, pair.pair_decimals),
        "stopprice": fixed(Decimal(0), pair.pair_decimals),
        "limitprice": fixed(Decimal(0), pair.pair_decimals),
        "misc": "",
        "oflags": _oflags(order),
    }
    if request.cl_ord_id is not None:
        body["cl_ord_id"] = request.cl_ord_id
    if not order.is_open:
        body["closetm"] = rest_time(order.closetm or order.opentm)
        body["reason"] = order.reason
    if trades and order.trades:
        body["trades"] = list(order.trades)
    return body


def trade_view(fill: Fill) -> dict[str, Any]:
    """One of the account's fills as QueryTrades / TradesHistory show it (amounts rounded to the pair's
    decimals, as Kraken shows them; `price` x `vol` is the exact cost)."""
    pair = fill.pair
    return {
        "ordertxid": fill.txid,
        "postxid": fill.trade_id,
        "pair": pair.altname,
        "time": rest_time(fill.time),
        "type": fill.side.value,
        "ordertype": fill.ordertype.value,
        "price": fixed(fill.price, pair.pair_decimals),
        "cost": fixed(fill.cost, pair.cost_decimals),
        "fee": fixed(fill.fee, pair.cost_decimals),
        "vol": fixed(fill.volume, pair.lot_decimals),
        "margin": fixed(Decimal(0), pair.cost_decimals),
        "leverage": "0",
        "misc": "",
        "trade_id": fill.exec_id,
        "maker": fill.maker,
    }


def balance_view(catalog: Catalog, account: Account) -> dict[str, str]:
    return {
        asset_id: fixed(amount, _asset(catalog, asset_id).decimals)
        for asset_id, amount in sorted(account.balances.items())
    }


def balance_ex_view(catalog: Catalog, engine: Engine, account: Account) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for asset_id, amount in sorted(account.balances.items()):
        places = _asset(catalog, asset_id).decimals
        out[asset_id] = {
            "balance": fixed(amount, places),
            "hold_trade": fixed(engine.held(account, asset_id), places),
        }
    return out


def _asset(catalog: Catalog, asset_id: str) -> Asset:
    return catalog.assets.get(asset_id) or asset_for(asset_id)


def value_in(engine: Engine, amount: Decimal, asset: Asset, target: Asset) -> Decimal:
    """`amount` of `asset` in `target`, at the simulated last price where a pair exists."""
    if asset.id == target.id:
        return amount
    for pair in engine.catalog.pairs.values():
        tape = engine.tapes[pair.id]
        if pair.base.id == asset.id and pair.quote.id == target.id:
            return amount * pair.price(tape.last_ticks)
        if pair.quote.id == asset.id and pair.base.id == target.id and tape.last_ticks:
            return amount / pair.price(tape.last_ticks)
    return amount * asset.usd_price / target.usd_price


def trade_balance_view(engine: Engine, account: Account, target: Asset) -> dict[str, str]:
    total = sum(
        (
            value_in(engine, amount, _asset(engine.catalog, asset_id), target)
            for asset_id, amount in account.balances.items()
        ),
        Decimal(0),
    )
    equity = fixed(total, 4)
    zero = fixed(Decimal(0), 4)
    return {
        "eb": equity,
        "tb": equity,
        "m": zero,
        "n": zero,
        "c": zero,
        "v": zero,
        "e": equity,
        "mf": equity,
        "uv": zero,
    }


# -- WebSocket v2 ---------------------------------------------------------------------------------

_WS_STATUS = {
    OrderStatus.PENDING: "pending_new",
    OrderStatus.OPEN: "new",
    OrderStatus.CLOSED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "expired",
}


def ws_order_status(order: Order) -> str:
    if order.status is OrderStatus.OPEN and order.vol_exec > 0:
        return "partially_filled"
    return _WS_STATUS[order.status]


def execution_view(
    order: Order, exec_type: str, symbol: str, time: float, fill: Fill | None = None
) -> dict[str, Any]:
    """One `executions` entry (snapshot entries use `exec_type` of the order's state)."""
    pair, request = order.pair, order.request
    body: dict[str, Any] = {
        "exec_type": exec_type,
        "order_id": order.txid,
        "symbol": symbol,
        "side": request.side.value,
        "order_type": request.ordertype.value,
        "order_qty": num(request.volume, pair.lot_decimals),
        "cum_qty": num(order.vol_exec, pair.lot_decimals),
        "cum_cost": num(order.cost, pair.cost_decimals),
        "avg_price": num(order.avg_price, pair.pair_decimals),
        "time_in_force": request.timeinforce.value,
        "order_status": ws_order_status(order),
        "order_userref": request.userref if request.userref is not None else 0,
        "post_only": request.post_only,
        "timestamp": rfc3339(time),
    }
    if request.ordertype is OrderType.LIMIT and request.price is not None:
        body["limit_price"] = num(request.price, pair.pair_decimals)
    if request.cl_ord_id is not None:
        body["cl_ord_id"] = request.cl_ord_id
    if fill is not None:
        body.update(
            exec_id=fill.trade_id,
            trade_id=fill.exec_id,
            last_qty=num(fill.volume, pair.lot_decimals),
            last_price=num(fill.price, pair.pair_decimals),
            cost=num(fill.cost, pair.cost_decimals),
            liquidity_ind="m" if fill.maker else "t",
            fees=[{"asset": pair.quote.ws, "qty": num(fill.fee, pair.quote.decimals)}],
        )
        if exec_type == "trade" and order.remaining > 0:
            body["order_status"] = "partially_filled"
    if exec_type in ("canceled", "expired") and order.reason:
        body["reason"] = order.reason
    return body


def balance_snapshot(catalog: Catalog, account: Account) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for asset_id, amount in sorted(account.balances.items()):
        asset = _asset(catalog, asset_id)
        value = num(amount, asset.decimals)
        out.append(
            {
                "asset": asset.ws,
                "asset_class": "currency",
                "balance": value,
                "wallets": [{"type": "spot", "id": "main", "balance": value}],
            }
        )
    return out


def ledger_view(catalog: Catalog, row: LedgerRow) -> dict[str, Any]:
    asset = _asset(catalog, row.asset)
    return {
        "ledger_id": row.ledger_id,
        "ref_id": row.ref_id,
        "timestamp": rfc3339(row.time),
        "type": row.type,
        "asset": asset.ws,
        "asset_class": "currency",
        "wallet_type": "spot",
        "wallet_id": "main",
        "amount": num(row.amount, asset.decimals),
        "fee": num(row.fee, asset.decimals),
        "balance": num(row.balance, asset.decimals),
    }
