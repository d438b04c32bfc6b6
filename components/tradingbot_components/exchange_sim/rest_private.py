"""`/0/private/*` of the simulated exchange, after the key, signature, nonce and REST counter have let
the call in: balances, order queries, AddOrder/CancelOrder/CancelAll, the dead man's switch, WS tokens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from tradingbot_components.exchange_sim.accounts import Account
from tradingbot_components.exchange_sim.catalog import known_asset
from tradingbot_components.exchange_sim.orders import (
    Order,
    OrderRejected,
    describe,
    invalid,
    parse_rest_order,
)
from tradingbot_components.exchange_sim.simulator import TOKEN_TTL, Simulator
from tradingbot_components.exchange_sim.views import (
    balance_ex_view,
    balance_view,
    order_view,
    trade_balance_view,
    trade_view,
)
from tradingbot_components.kraken.errors import KrakenError

PrivateHandler = Callable[[Simulator, Account, Mapping[str, Any], float], Any]
CLOSED_PAGE = 50
QUERY_TRADES_MAX = 20


def _flag(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key)
    return value is True or str(value).lower() in ("true", "1")


def _stamp(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def balance(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    return balance_view(sim.catalog, account)


def balance_ex(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    return balance_ex_view(sim.catalog, sim.engine, account)


def trade_balance(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    name = str(params.get("asset") or "ZUSD")
    target = sim.catalog.asset(name) or known_asset(name)
    if target is None:
        raise OrderRejected(KrakenError.UNKNOWN_ASSET.value)
    return trade_balance_view(sim.engine, account, target)


def _matches(order: Order, params: Mapping[str, Any]) -> bool:
    userref = params.get("userref")
    if userref not in (None, "") and str(order.request.userref) != str(userref):
        return False
    cl_ord_id = params.get("cl_ord_id")
    return cl_ord_id in (None, "") or order.request.cl_ord_id == str(cl_ord_id)


def open_orders(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    trades = _flag(params, "trades")
    return {
        "open": {
            txid: order_view(o, trades=trades) for txid, o in account.open.items() if _matches(o, params)
        }
    }


def _time_bound(value: Any, account: Account) -> float | None:
    if value in (None, ""):
        return None
    order = account.orders.get(str(value))
    if order is not None:
        return order.opentm
    try:
        return float(value)
    except ValueError:
        raise invalid("start") from None


def closed_orders(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    trades = _flag(params, "trades")
    start, end = _time_bound(params.get("start"), account), _time_bound(params.get("end"), account)
    which = str(params.get("closetime") or "both")
    if which not in ("open", "close", "both"):
        raise invalid("closetime")
    try:
        offset = int(params.get("ofs") or 0)
    except ValueError:
        raise invalid("ofs") from None

    def inside(order: Order) -> bool:
        times = {"open": [order.opentm], "close": [order.closetm or order.opentm]}
        candidates = times.get(which, [order.opentm, order.closetm or order.opentm])
        return any((start is None or t > start) and (end is None or t <= end) for t in candidates)

    closed = [o for o in account.orders.values() if not o.is_open and _matches(o, params) and inside(o)]
    closed.sort(key=lambda o: o.closetm or o.opentm, reverse=True)
    page = closed[offset : offset + CLOSED_PAGE]
    result: dict[str, Any] = {"closed": {o.txid: order_view(o, trades=trades) for o in page}}
    if not _flag(params, "without_count"):
        result["count"] = len(closed)
    return result


def query_orders(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    txids = [t.strip() for t in str(params.get("txid") or "").split(",") if t.strip()]
    if not txids:
        raise invalid("txid")
    found = {txid: account.orders.get(txid) for txid in txids}
    if any(order is None for order in found.values()):
        raise OrderRejected(KrakenError.INVALID_ORDER.value)
    return {txid: order_view(order, trades=_flag(params, "trades")) for txid, order in found.items() if order}


def query_trades(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    """Up to 20 of the account's fills by trade id; an unknown id is refused, as Kraken does."""
    ids = [t.strip() for t in str(params.get("txid") or "").split(",") if t.strip()]
    if not ids or len(ids) > QUERY_TRADES_MAX:
        raise invalid("txid")
    fills = {fill.trade_id: fill for fill in account.fills if fill.trade_id in ids}
    if len(fills) != len(set(ids)):
        raise invalid("txid")
    return {trade_id: trade_view(fills[trade_id]) for trade_id in ids}


def add_order(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    parse = partial(parse_rest_order, params, sim.catalog, now)
    request, order = sim.place(account, parse, str(params.get("pair") or ""), now)
    descr = {"order": describe(request)}
    return {"descr": descr} if order is None else {"descr": descr, "txid": [order.txid]}


def cancel_order(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    txid, cl_ord_id = params.get("txid"), params.get("cl_ord_id")
    if txid in (None, "") and cl_ord_id in (None, ""):
        raise invalid("txid")
    if txid not in (None, "") and cl_ord_id not in (None, ""):
        raise invalid("cl_ord_id")
    if cl_ord_id not in (None, ""):
        orders = sim.engine.find(account, str(cl_ord_id), "cl_ord_id")
    else:
        orders = sim.engine.find(account, str(txid), "txid") or sim.engine.find(account, str(txid), "userref")
    if not orders:
        raise OrderRejected(KrakenError.UNKNOWN_ORDER.value)
    return {"count": sim.engine.cancel(account, orders, now)}


def cancel_all(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    return {"count": sim.engine.cancel_all(account, now)}


def cancel_all_orders_after(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    try:
        timeout = int(str(params.get("timeout", "")))
    except ValueError:
        raise invalid("timeout") from None
    if not 0 <= timeout < 86400:
        raise invalid("timeout")
    trigger = sim.engine.arm_dead_man(account, timeout, now)
    return {"currentTime": _stamp(now), "triggerTime": "0" if trigger is None else _stamp(trigger)}


def websockets_token(sim: Simulator, account: Account, params: Mapping[str, Any], now: float) -> Any:
    return {"token": sim.issue_token(account, now), "expires": int(TOKEN_TTL)}


PRIVATE_METHODS: dict[str, PrivateHandler] = {
    "Balance": balance,
    "BalanceEx": balance_ex,
    "TradeBalance": trade_balance,
    "OpenOrders": open_orders,
    "ClosedOrders": closed_orders,
    "QueryOrders": query_orders,
    "QueryTrades": query_trades,
    "AddOrder": add_order,
    "CancelOrder": cancel_order,
    "CancelAll": cancel_all,
    "CancelAllOrdersAfter": cancel_all_orders_after,
    "GetWebSocketsToken": websockets_token,
}
