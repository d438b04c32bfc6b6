"""The simulator's WebSocket v2 endpoint (`/v2`): `status` on connect, `ping`/`pong`, heartbeats,
subscribe/unsubscribe acks per symbol, public `book`/`ticker`/`trade`/`instrument`, and with a token the
private `executions`/`balances` channels and the trading methods.

`publish(now)` is called after every market step or engine change and sends what changed since.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from tradingbot_components.exchange_sim.catalog import PairSpec
from tradingbot_components.exchange_sim.engine import EngineEvent, LedgerEvent, OrderEvent
from tradingbot_components.exchange_sim.feed_book import BOOK_DEPTHS
from tradingbot_components.exchange_sim.orders import OrderRejected
from tradingbot_components.exchange_sim.rate_limits import TRADING_RULES
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.tape import PublicTrade
from tradingbot_components.exchange_sim.views import execution_view, ledger_view
from tradingbot_components.exchange_sim.wire import rfc3339
from tradingbot_components.exchange_sim.ws_connection import Connection, Subscription, response
from tradingbot_components.exchange_sim.ws_feeds import BookFeed, bbo, ticker_entry, trade_entry
from tradingbot_components.exchange_sim.ws_snapshots import snapshot_frames
from tradingbot_components.exchange_sim.ws_trading import TRADING_METHODS
from tradingbot_components.kraken.errors import KrakenError

PUBLIC_CHANNELS = frozenset({"book", "ticker", "trade", "instrument"})
PRIVATE_CHANNELS = frozenset({"executions", "balances"})
HEARTBEAT_SECONDS = 1.0


class WsHub:
    def __init__(
        self, simulator: Callable[[], Simulator | None], clock: Callable[[], float] = time.time
    ) -> None:
        self._simulator = simulator
        self._clock = clock
        self.connections: dict[int, Connection] = {}
        self.feeds: dict[tuple[str, int], BookFeed] = {}
        self.wake = asyncio.Event()
        self._trades: dict[str, list[PublicTrade]] = {}
        self._next_id = 1
        self._last_heartbeat = 0.0
        self._deferred: list[EngineEvent] | None = None

    def attach(self, sim: Simulator) -> None:
        sim.engine.listeners.append(self._on_event)
        sim.engine.public_listeners.append(self._on_trade)

    # -- connections ------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        sim = self._simulator()
        if sim is None:
            return web.Response(status=503, text="exchange simulator is starting")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(self._next_id, request, ws, sim.stats)
        self._next_id += 1
        self.connections[connection.id] = connection
        sim.stats.ws_connections_total += 1
        sim.stats.ws_connections_open += 1
        writer = asyncio.create_task(connection.write_loop(), name=f"ws-writer-{connection.id}")
        connection.send(
            {
                "channel": "status",
                "type": "update",
                "data": [
                    {
                        "api_version": "v2",
                        "connection_id": connection.id,
                        "system": "online",
                        "version": "2.0.0",
                    }
                ],
            }
        )
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_message(sim, connection, message.data)
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            self.connections.pop(connection.id, None)
            sim.stats.ws_connections_open -= 1
            connection.closed = True
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def drop_all(self) -> int:
        """The `drop_ws` fault: cut every connection now, without a close frame."""
        dropped = list(self.connections.values())
        for connection in dropped:
            connection.abort()
        sim = self._simulator()
        if sim is not None:
            sim.stats.ws_dropped += len(dropped)
        return len(dropped)

    async def close_all(self) -> None:
        await asyncio.gather(*(c.close() for c in list(self.connections.values())), return_exceptions=True)

    # -- requests ---------------------------------------------------------------------------------

    def _on_message(self, sim: Simulator, connection: Connection, text: str) -> None:
        now = self._clock()
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            connection.send(response("", now, now, None, error=KrakenError.INVALID_ARGUMENTS.value))
            return
        method, req_id = request["method"], request.get("req_id")
        params = request.get("params") or {}
        sim.stats.requests[f"ws:{method}"] += 1
        if method == "ping":
            connection.send(
                {
                    "method": "pong",
                    "req_id": req_id,
                    "time_in": rfc3339(now),
                    "time_out": rfc3339(self._clock()),
                }
            )
            return
        if not isinstance(params, dict):
            connection.send(response(method, now, now, req_id, error=KrakenError.INVALID_ARGUMENTS.value))
            return
        if method == "subscribe":
            self._subscribe(sim, connection, params, req_id, now)
        elif method == "unsubscribe":
            self._unsubscribe(sim, connection, params, req_id, now)
        elif method in TRADING_METHODS:
            # The method's own responses go first, then the executions it caused (Kraken's order).
            self._deferred = []
            try:
                replies = TRADING_METHODS[method](sim, connection, params, req_id, now)
            except OrderRejected as rejected:
                sim.stats.error(rejected.error)
                replies = [response(method, now, self._clock(), req_id, error=rejected.error)]
            finally:
                deferred, self._deferred = self._deferred, None
            for reply in replies:
                connection.send(reply)
            for event in deferred:
                self._on_event(event)
        else:
            connection.send(response(method, now, now, req_id, error=KrakenError.UNKNOWN_METHOD.value))

    def _targets(
        self,
        sim: Simulator,
        connection: Connection,
        params: Mapping[str, Any],
        req_id: Any,
        method: str,
        now: float,
    ) -> list[tuple[PairSpec | None, str | None]] | None:
        channel = params.get("channel")
        if channel not in PUBLIC_CHANNELS | PRIVATE_CHANNELS:
            connection.send(response(method, now, now, req_id, error="Subscription name invalid"))
            return None
        if channel in PRIVATE_CHANNELS or channel == "instrument":
            return [(None, None)]
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            connection.send(response(method, now, now, req_id, error="EGeneral:Invalid arguments:symbol"))
            return None
        targets: list[tuple[PairSpec | None, str | None]] = []
        for symbol in symbols:
            pair = sim.catalog.pair(str(symbol))
            if pair is None:
                connection.send(
                    response(method, now, now, req_id, error=f"Currency pair not supported {symbol}")
                )
                continue
            connection.spelling[pair.id] = str(symbol)
            targets.append((pair, str(symbol)))
        return targets

    def _subscribe(
        self, sim: Simulator, connection: Connection, params: dict[str, Any], req_id: Any, now: float
    ) -> None:
        targets = self._targets(sim, connection, params, req_id, "subscribe", now)
        if targets is None:
            return
        channel = str(params["channel"])
        depth = params.get("depth", 10) if channel == "book" else None
        if channel == "book" and depth not in BOOK_DEPTHS:
            connection.send(response("subscribe", now, now, req_id, error="EGeneral:Invalid arguments:depth"))
            return
        if channel in PRIVATE_CHANNELS:
            account = sim.account_for_token(params.get("token"), now)
            if account is None:
                connection.send(
                    response("subscribe", now, now, req_id, error=KrakenError.INVALID_TOKEN.value)
                )
                return
            connection.account = account
        snapshot = bool(params.get("snapshot", channel != "trade"))
        trigger = str(params.get("event_trigger", "trades"))
        for pair, symbol in targets:
            key = (channel, None if pair is None else pair.id)
            if key in connection.subscriptions:
                connection.send(response("subscribe", now, now, req_id, error="Already subscribed"))
                continue
            subscription = Subscription(channel, pair, symbol, depth, trigger)
            connection.subscriptions[key] = subscription
            result: dict[str, Any] = {"channel": channel, "snapshot": snapshot}
            if symbol is not None:
                result["symbol"] = symbol
            if depth is not None:
                result["depth"] = depth
            if channel == "ticker":
                result["event_trigger"] = trigger
            if channel == "executions":
                result["maxratecount"] = int(TRADING_RULES[sim.tier].maximum)
            connection.send(response("subscribe", now, self._clock(), req_id, result=result))
            if snapshot or channel == "instrument":
                feed = None
                if pair is not None and depth is not None:
                    feed = self._feed(sim, pair, depth)
                for frame in snapshot_frames(sim, connection, subscription, params, feed, now):
                    connection.send(frame)

    def _unsubscribe(
        self, sim: Simulator, connection: Connection, params: dict[str, Any], req_id: Any, now: float
    ) -> None:
        targets = self._targets(sim, connection, params, req_id, "unsubscribe", now)
        if targets is None:
            return
        channel = str(params["channel"])
        for pair, symbol in targets:
            subscription = connection.subscriptions.pop((channel, None if pair is None else pair.id), None)
            if subscription is None:
                connection.send(response("unsubscribe", now, now, req_id, error="Subscription Not Found"))
                continue
            result: dict[str, Any] = {"channel": channel}
            if symbol is not None:
                result["symbol"] = symbol
            if subscription.depth is not None:
                result["depth"] = subscription.depth
            connection.send(response("unsubscribe", now, self._clock(), req_id, result=result))

    def _feed(self, sim: Simulator, pair: PairSpec, depth: int) -> BookFeed:
        feed = self.feeds.get((pair.id, depth))
        if feed is None:
            feed = self.feeds[(pair.id, depth)] = BookFeed(sim.engine.markets[pair.id], depth)
        return feed

    # -- pushing ----------------------------------------------------------------------------------

    def _subscribers(self, channel: str, pair_id: str | None) -> list[tuple[Connection, Subscription]]:
        out = []
        for connection in self.connections.values():
            subscription = connection.subscriptions.get((channel, pair_id))
            if subscription is not None:
                out.append((connection, subscription))
        return out

    def _on_trade(self, pair: PairSpec, trade: PublicTrade) -> None:
        self._trades.setdefault(pair.id, []).append(trade)
        self.wake.set()

    def _on_event(self, event: EngineEvent) -> None:
        self.wake.set()
        if self._deferred is not None:
            self._deferred.append(event)
            return
        for connection in self.connections.values():
            account = connection.account
            if account is None or account.key != event.account:
                continue
            if isinstance(event, OrderEvent) and ("executions", None) in connection.subscriptions:
                entry = execution_view(
                    event.order, event.exec_type, connection.symbol(event.order.pair), event.time, event.fill
                )
                connection.send(
                    {
                        "channel": "executions",
                        "type": "update",
                        "data": [entry],
                        "sequence": connection.next_sequence("executions"),
                    }
                )
            elif isinstance(event, LedgerEvent) and ("balances", None) in connection.subscriptions:
                sim = self._simulator()
                if sim is None:
                    continue
                rows = [ledger_view(sim.catalog, row) for row in event.rows]
                connection.send(
                    {
                        "channel": "balances",
                        "type": "update",
                        "data": rows,
                        "sequence": connection.next_sequence("balances"),
                    }
                )

    def publish(self, now: float) -> None:
        """Send every subscriber what changed: book diffs, trades, tickers, and heartbeats once a second."""
        sim = self._simulator()
        if sim is None:
            return
        self._publish_books(sim, now)
        trades, self._trades = self._trades, {}
        for pair_id, batch in trades.items():
            pair = sim.catalog.pairs[pair_id]
            for connection, sub in self._subscribers("trade", pair_id):
                data = [trade_entry(sub.symbol or pair.symbol, pair, trade) for trade in batch]
                connection.send({"channel": "trade", "type": "update", "data": data})
        for pair_id, market in sim.engine.markets.items():
            for connection, sub in self._subscribers("ticker", pair_id):
                current = bbo(market)
                due = pair_id in trades if sub.event_trigger == "trades" else current != sub.last_bbo
                sub.last_bbo = current
                if due:
                    entry = ticker_entry(
                        sub.symbol or market.pair.symbol, market, sim.engine.tapes[pair_id], now
                    )
                    connection.send({"channel": "ticker", "type": "update", "data": [entry]})
        if now - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = now
            for connection in self.connections.values():
                if connection.subscriptions:
                    connection.send({"channel": "heartbeat"})

    def _publish_books(self, sim: Simulator, now: float) -> None:
        used = {
            (sub.pair.id, sub.depth)
            for connection in self.connections.values()
            for sub in connection.subscriptions.values()
            if sub.channel == "book" and sub.pair is not None and sub.depth is not None
        }
        for key in [key for key in self.feeds if key not in used]:
            del self.feeds[key]
        for (pair_id, depth), feed in self.feeds.items():
            change = feed.advance()
            if change is None:
                continue
            bids, asks, checksum = change
            if sim.faults.take_corruption():
                checksum ^= 0x5A5A5A5A
            for connection, sub in self._subscribers("book", pair_id):
                if sub.depth == depth:
                    entry = feed.update_entry(sub.symbol or feed.pair.symbol, bids, asks, checksum, now)
                    connection.send({"channel": "book", "type": "update", "data": [entry]})
