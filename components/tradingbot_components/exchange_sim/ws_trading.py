"""The authenticated WS v2 trading methods: `add_order`, `cancel_order`, `cancel_all`,
`cancel_all_orders_after`. Each takes the request params (with `token`) and returns the responses to
send; orders go through the same engine and trading counters as REST.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from tradingbot_components.exchange_sim.accounts import Account
from tradingbot_components.exchange_sim.orders import OrderRejected, invalid, parse_ws_order
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.ws_connection import Connection, response
from tradingbot_components.kraken.errors import KrakenError

Method = Callable[[Simulator, Connection, Mapping[str, Any], Any, float], list[dict[str, Any]]]


def _account(sim: Simulator, connection: Connection, params: Mapping[str, Any], now: float) -> Account:
    account = sim.account_for_token(params.get("token"), now)
    if account is None:
        raise OrderRejected(KrakenError.INVALID_TOKEN.value)
    connection.account = account
    return account


def add_order(
    sim: Simulator, connection: Connection, params: Mapping[str, Any], req_id: Any, now: float
) -> list[dict[str, Any]]:
    account = _account(sim, connection, params, now)
    symbol = str(params.get("symbol") or "")
    pair = sim.catalog.pair(symbol)
    if pair is not None:
        connection.spelling[pair.id] = symbol
    request, order = sim.place(account, partial(parse_ws_order, params, sim.catalog, now), symbol, now)
    result: dict[str, Any] = {"order_id": "" if order is None else order.txid}
    if request.cl_ord_id is not None:
        result["cl_ord_id"] = request.cl_ord_id
    if request.userref is not None:
        result["order_userref"] = request.userref
    return [response("add_order", now, now, req_id, result=result)]


def _ids(params: Mapping[str, Any]) -> tuple[str, list[str]]:
    given = [(name, params.get(name)) for name in ("order_id", "cl_ord_id", "order_userref")]
    present = [(name, value) for name, value in given if value not in (None, [], "")]
    if len(present) != 1:
        raise invalid("order_id")
    name, value = present[0]
    values = value if isinstance(value, list) else [value]
    return name, [str(v) for v in values]


def cancel_order(
    sim: Simulator, connection: Connection, params: Mapping[str, Any], req_id: Any, now: float
) -> list[dict[str, Any]]:
    account = _account(sim, connection, params, now)
    name, refs = _ids(params)
    kind = {"order_id": "txid", "cl_ord_id": "cl_ord_id", "order_userref": "userref"}[name]
    replies = []
    for ref in refs:
        orders = sim.engine.find(account, ref, kind)
        if not orders:
            replies.append(response("cancel_order", now, now, req_id, error=KrakenError.UNKNOWN_ORDER.value))
            sim.stats.error(KrakenError.UNKNOWN_ORDER.value)
            continue
        try:
            sim.engine.cancel(account, orders, now)
        except OrderRejected as rejected:
            replies.append(response("cancel_order", now, now, req_id, error=rejected.error))
            sim.stats.error(rejected.error)
            continue
        for order in orders:
            result: dict[str, Any] = {"order_id": order.txid}
            if order.request.cl_ord_id is not None:
                result["cl_ord_id"] = order.request.cl_ord_id
            replies.append(response("cancel_order", now, now, req_id, result=result))
    return replies


def cancel_all(
    sim: Simulator, connection: Connection, params: Mapping[str, Any], req_id: Any, now: float
) -> list[dict[str, Any]]:
    account = _account(sim, connection, params, now)
    return [response("cancel_all", now, now, req_id, result={"count": sim.engine.cancel_all(account, now)})]


def _stamp(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cancel_all_orders_after(
    sim: Simulator, connection: Connection, params: Mapping[str, Any], req_id: Any, now: float
) -> list[dict[str, Any]]:
    account = _account(sim, connection, params, now)
    timeout = params.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 <= timeout < 86400:
        raise invalid("timeout")
    trigger = sim.engine.arm_dead_man(account, timeout, now)
    result = {"currentTime": _stamp(now), "triggerTime": "0" if trigger is None else _stamp(trigger)}
    return [response("cancel_all_orders_after", now, now, req_id, result=result)]


TRADING_METHODS: dict[str, Method] = {
    "add_order": add_order,
    "cancel_order": cancel_order,
    "cancel_all": cancel_all,
    "cancel_all_orders_after": cancel_all_orders_after,
}
