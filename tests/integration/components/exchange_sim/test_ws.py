"""WebSocket v2 against the real process: status, ping, acks, book snapshots and updates that verify
at every depth, ticker and trade, and token-authenticated executions, balances and trading methods."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import aiohttp
import pytest

from tests.integration.components.exchange_sim.wsclient import channel, frames_until, method, next_frame
from tests.support.sim import SimHandle
from tradingbot_components.kraken.book import BOOK_DEPTHS, OrderBook, parse_book_frame

Factory = Callable[..., SimHandle]


async def test_status_ping_and_subscription_acks(sim_factory: Factory) -> None:
    sim = sim_factory(pairs=("XBT/USD", "ETH/USD"))
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        status = await next_frame(ws, channel("status"))
        assert status["data"][0]["system"] == "online" and status["data"][0]["api_version"] == "v2"
        await ws.send_json({"method": "ping", "req_id": 41})
        pong = await next_frame(ws, method("pong"))
        assert pong["req_id"] == 41 and "time_in" in pong and "time_out" in pong
        await ws.send_json(
            {
                "method": "subscribe",
                "params": {"channel": "ticker", "symbol": ["BTC/USD", "XBT/USD", "ETH/USD"]},
                "req_id": 1,
            }
        )
        acks = await frames_until(ws, lambda fs: sum(f.get("method") == "subscribe" for f in fs) == 3)
        acks = [f for f in acks if f.get("method") == "subscribe"]
        assert [a["success"] for a in acks] == [True, False, True]  # XBT/USD is BTC/USD again
        assert acks[0]["result"] == {
            "channel": "ticker",
            "snapshot": True,
            "symbol": "BTC/USD",
            "event_trigger": "trades",
        }
        assert acks[1]["error"] == "Already subscribed" and acks[1]["req_id"] == 1
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "book", "symbol": ["DOGE/JPY"]}, "req_id": 2}
        )
        assert (await next_frame(ws, method("subscribe", 2)))[
            "error"
        ] == "Currency pair not supported DOGE/JPY"
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "candles", "symbol": ["BTC/USD"]}, "req_id": 3}
        )
        assert (await next_frame(ws, method("subscribe", 3)))["success"] is False
        await next_frame(ws, channel("heartbeat"))
        await ws.send_json(
            {"method": "unsubscribe", "params": {"channel": "ticker", "symbol": ["ETH/USD"]}, "req_id": 4}
        )
        assert (await next_frame(ws, method("unsubscribe", 4)))["result"] == {
            "channel": "ticker",
            "symbol": "ETH/USD",
        }


async def test_book_snapshots_and_updates_verify_at_every_depth(sim_factory: Factory) -> None:
    sim = sim_factory(pairs=("XBT/USD", "ETH/USD"), tick_seconds=0.05)
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(sim.url_ws) for _ in BOOK_DEPTHS]
        books: dict[tuple[int, str], OrderBook] = {}
        for ws, depth in zip(sockets, sorted(BOOK_DEPTHS), strict=True):
            params = {"channel": "book", "symbol": ["BTC/USD", "ETH/USD"], "depth": depth}
            await ws.send_json({"method": "subscribe", "params": params})
            for symbol in ("BTC/USD", "ETH/USD"):
                books[(depth, symbol)] = OrderBook(symbol, depth)
        updates = 0
        for ws, depth in zip(sockets, sorted(BOOK_DEPTHS), strict=True):
            seen = 0
            while seen < 12:
                frame = await next_frame(ws, channel("book"))
                for message in parse_book_frame(frame):
                    books[(depth, message.symbol)].apply_checked(message)
                seen += frame["type"] == "update"
            updates += seen
            await ws.close()
    assert updates >= 12 * len(BOOK_DEPTHS)
    assert all(book.in_sync for book in books.values())
    assert len(books[(1000, "BTC/USD")].bids()) == 1000


async def test_ticker_and_trades_flow(sim_factory: Factory) -> None:
    sim = sim_factory(tick_seconds=0.05)
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await ws.send_json(
            {
                "method": "subscribe",
                "params": {"channel": "ticker", "symbol": ["BTC/USD"], "event_trigger": "bbo"},
            }
        )
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "trade", "symbol": ["BTC/USD"], "snapshot": True}}
        )
        snapshot = await next_frame(ws, channel("ticker", "snapshot"))
        tick = snapshot["data"][0]
        assert tick["ask"] > tick["bid"] > 0 and isinstance(tick["ask"], Decimal)
        assert len((await next_frame(ws, channel("trade", "snapshot")))["data"]) <= 50
        trade = (await next_frame(ws, channel("trade", "update")))["data"][0]
        assert trade["side"] in ("buy", "sell") and isinstance(trade["trade_id"], int)
        assert trade["qty"].as_tuple().exponent == -8
        await next_frame(ws, channel("ticker", "update"))


async def test_private_channels_and_trading_need_a_token(sim_factory: Factory) -> None:
    sim = sim_factory()
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "executions", "token": "stale"}, "req_id": 1}
        )
        assert (await next_frame(ws, method("subscribe", 1)))["error"] == "EAPI:Invalid token"
        order = {
            "order_type": "market",
            "side": "buy",
            "order_qty": 0.01,
            "symbol": "BTC/USD",
            "token": "stale",
        }
        await ws.send_json({"method": "add_order", "params": order, "req_id": 2})
        assert (await next_frame(ws, method("add_order", 2)))["error"] == "EAPI:Invalid token"


async def test_executions_and_balances_after_add_order(sim_factory: Factory) -> None:
    sim = sim_factory(balances="USD=10000,XBT=0")
    token = sim.ws_token()
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "executions", "token": token}, "req_id": 1}
        )
        await ws.send_json(
            {"method": "subscribe", "params": {"channel": "balances", "token": token}, "req_id": 2}
        )
        assert (await next_frame(ws, channel("executions", "snapshot")))["data"] == []
        balances = (await next_frame(ws, channel("balances", "snapshot")))["data"]
        assert {b["asset"]: b["balance"] for b in balances}["USD"] == Decimal("10000.0000")

        order = {
            "order_type": "market",
            "side": "buy",
            "order_qty": 0.01,
            "symbol": "BTC/USD",
            "cl_ord_id": "ws-1",
            "token": token,
        }
        await ws.send_json({"method": "add_order", "params": order, "req_id": 3})
        frames = await frames_until(
            ws,
            lambda fs: (
                any(f.get("channel") == "balances" and f.get("type") == "update" for f in fs)
                and any(
                    f.get("channel") == "executions" and f["data"][0]["exec_type"] == "filled" for f in fs
                )
            ),
        )
        reply = next(f for f in frames if f.get("method") == "add_order")
        assert reply["success"] and reply["req_id"] == 3 and reply["result"]["cl_ord_id"] == "ws-1"
        order_id = reply["result"]["order_id"]
        executions = [f["data"][0] for f in frames if f.get("channel") == "executions"]
        assert frames.index(reply) < frames.index(next(f for f in frames if f.get("channel") == "executions"))
        assert [e["exec_type"] for e in executions][:2] == ["pending_new", "new"]
        assert executions[-1]["exec_type"] == "filled" and executions[-1]["order_id"] == order_id
        fills = [e for e in executions if e["exec_type"] == "trade"]
        assert sum(e["last_qty"] for e in fills) == Decimal("0.01") and fills[0]["liquidity_ind"] == "t"
        ledger = [row for f in frames if f.get("channel") == "balances" for row in f["data"]]
        assert {row["asset"] for row in ledger} == {"BTC", "USD"}
        sequences = [f["sequence"] for f in frames if f.get("channel") == "executions"]
        assert sequences == sorted(sequences) and sequences[0] == 2

        resting = {**order, "order_type": "limit", "limit_price": 40000.0, "cl_ord_id": "ws-2"}
        await ws.send_json({"method": "add_order", "params": resting, "req_id": 4})
        placed = await next_frame(ws, method("add_order", 4))
        await ws.send_json(
            {"method": "cancel_order", "params": {"cl_ord_id": ["ws-2"], "token": token}, "req_id": 5}
        )
        cancelled = await next_frame(ws, method("cancel_order", 5))
        assert cancelled["success"] and cancelled["result"]["order_id"] == placed["result"]["order_id"]
        event = await next_frame(
            ws, lambda f: f.get("channel") == "executions" and f["data"][0]["exec_type"] == "canceled"
        )
        assert event["data"][0]["cl_ord_id"] == "ws-2"
        await ws.send_json(
            {
                "method": "cancel_order",
                "params": {"order_id": ["OXXXXX-XXXXX-XXXXXX"], "token": token},
                "req_id": 6,
            }
        )
        assert (await next_frame(ws, method("cancel_order", 6)))["error"] == "EOrder:Unknown order"
    # The REST view agrees with what the socket said.
    closed = sim.private("ClosedOrders")["result"]["closed"]
    assert closed[order_id]["status"] == "closed" and closed[order_id]["cl_ord_id"] == "ws-1"


@pytest.mark.parametrize(
    ("error_order", "expected"),
    [
        ({"order_qty": 1000}, "EOrder:Insufficient funds"),  # 1000 BTC with 100 USD
        ({"order_qty": 0.00001}, "EOrder:Order minimum not met"),  # below BTC/USD's ordermin
    ],
)
async def test_ws_order_rejections(
    sim_factory: Factory, error_order: dict[str, object], expected: str
) -> None:
    sim = sim_factory(balances="USD=100")
    token = sim.ws_token()
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        order = {"order_type": "market", "side": "buy", "symbol": "BTC/USD", "token": token, **error_order}
        await ws.send_json({"method": "add_order", "params": order, "req_id": 7})
        reply = await next_frame(ws, method("add_order", 7))
    assert reply["success"] is False
    assert reply["error"] == expected
