"""The first frame of each WS v2 subscription: book, ticker, trade and instrument snapshots, and the
private executions (open orders, optionally recent fills) and balances snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.views import balance_snapshot, execution_view, ws_order_status
from tradingbot_components.exchange_sim.ws_connection import Connection, Subscription
from tradingbot_components.exchange_sim.ws_feeds import (
    BookFeed,
    bbo,
    instrument_snapshot,
    ticker_entry,
    trade_entry,
)

TRADE_SNAPSHOT = 50  # trades in a `trade` snapshot, and fills in an executions `snap_trades` snapshot


def _executions(connection: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    account = connection.account
    if account is None:
        return []
    data = []
    if params.get("snap_orders", True):
        data += [
            execution_view(order, ws_order_status(order), connection.symbol(order.pair), order.opentm)
            for order in account.open.values()
        ]
    if params.get("snap_trades", False):
        for fill in account.fills[-TRADE_SNAPSHOT:]:
            order = account.orders[fill.txid]
            data.append(execution_view(order, "trade", connection.symbol(order.pair), fill.time, fill))
    return data


def snapshot_frames(
    sim: Simulator,
    connection: Connection,
    sub: Subscription,
    params: Mapping[str, Any],
    feed: BookFeed | None,
    now: float,
) -> list[dict[str, Any]]:
    """The snapshot frames for a new subscription (`feed` is the book feed for `book`)."""
    pair, symbol = sub.pair, sub.symbol
    if sub.channel == "instrument":
        return [{"channel": "instrument", "type": "snapshot", "data": instrument_snapshot(sim.catalog)}]
    if sub.channel == "executions" and connection.account is not None:
        sequence = connection.next_sequence("executions")
        data = _executions(connection, params)
        return [{"channel": "executions", "type": "snapshot", "data": data, "sequence": sequence}]
    if sub.channel == "balances" and connection.account is not None:
        data = balance_snapshot(sim.catalog, connection.account)
        sequence = connection.next_sequence("balances")
        return [{"channel": "balances", "type": "snapshot", "data": data, "sequence": sequence}]
    if pair is None or symbol is None:
        return []
    if sub.channel == "book" and feed is not None:
        return [{"channel": "book", "type": "snapshot", "data": [feed.snapshot(symbol, now)]}]
    if sub.channel == "ticker":
        market, tape = sim.engine.markets[pair.id], sim.engine.tapes[pair.id]
        sub.last_bbo = bbo(market)
        return [{"channel": "ticker", "type": "snapshot", "data": [ticker_entry(symbol, market, tape, now)]}]
    if sub.channel == "trade":
        recent = list(sim.engine.tapes[pair.id].trades)[-TRADE_SNAPSHOT:]
        return [
            {"channel": "trade", "type": "snapshot", "data": [trade_entry(symbol, pair, t) for t in recent]}
        ]
    return []
