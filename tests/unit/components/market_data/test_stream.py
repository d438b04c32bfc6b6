"""The `/stream` fan-out on a real socket: subscribe, snapshot then updates, filters, and slow consumers
that lose their oldest messages (and are told) or get disconnected, without ever holding up publishing."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.support.waiting import async_wait_until
from tests.unit.components.market_data.frames import BookScript, ticker_frame
from tradingbot_components.market_data import MarketState
from tradingbot_components.market_data.stream import StreamClient, StreamHub
from tradingbot_components.market_data.stream_messages import BadSubscription, Channel, parse_subscription

PAIRS = ("XBT/USD", "ETH/USD")


def test_parse_subscription() -> None:
    sub = parse_subscription({"subscribe": ["book", "trade"], "pairs": ["BTC/USD"]}, PAIRS)
    assert sub.channels == {Channel.BOOK, Channel.TRADE} and sub.pairs == ("XBT/USD",)
    assert parse_subscription({"subscribe": ["ticker"]}, PAIRS).pairs == PAIRS


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ([], "expected"),
        ({"subscribe": []}, "subscribe: expected a non-empty list"),
        ({"subscribe": ["book", "ohlc"]}, r"subscribe\[1\]: unknown channel 'ohlc'"),
        ({"subscribe": ["book"], "pairs": ["SOL/USD"]}, r"pairs\[0\]: 'SOL/USD' is not a configured pair"),
        ({"subscribe": ["book"], "pairs": "XBT/USD"}, "pairs: expected a non-empty list"),
    ],
)
def test_bad_subscriptions_say_why(request_: Any, error: str) -> None:
    with pytest.raises(BadSubscription, match=error):
        parse_subscription(request_, PAIRS)


async def test_a_full_outbox_drops_its_oldest_and_says_so_first() -> None:
    client = StreamClient(1, "test", capacity=3)
    for n in range(5):
        client.offer(str(n))
    assert (client.queued, client.dropped) == (3, 2)
    assert [await client.next_message() for _ in range(4)] == [
        '{"type": "dropped", "count": 2}',
        "2",
        "3",
        "4",
    ]


class Served:
    def __init__(self, hub: StreamHub, state: MarketState, url: str) -> None:
        self.hub, self.state, self.url = hub, state, url
        self.btc = BookScript("BTC/USD")


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    hub = StreamHub(capacity=50, send_timeout=0.5)
    state = MarketState(PAIRS, sink=hub)
    hub.attach(state.pairs, state.snapshot_messages)
    app = web.Application()
    hub.add_to(app)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    result = Served(hub, state, f"http://127.0.0.1:{runner.addresses[0][1]}/stream")
    state.handle(result.btc.snapshot())
    try:
        yield result
    finally:
        await hub.close_all()
        await runner.cleanup()


async def receive(
    ws: aiohttp.ClientWebSocketResponse, count: int, timeout: float = 5
) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout):
        return [json.loads((await ws.receive()).data) for _ in range(count)]


async def test_subscriber_gets_snapshot_then_updates_for_its_pairs_and_channels(served: Served) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        await ws.send_json({"subscribe": ["book", "ticker"], "pairs": ["XBT/USD"]})
        first = await receive(ws, 3)
        assert [m["type"] for m in first] == ["subscribed", "snapshot", "snapshot"]
        assert first[1]["channel"] == "book" and first[1]["state"] == "in_sync"
        assert first[1]["best_bid"] == ["30000.0", "1.50000000"] and len(first[1]["asks"]) == 10
        assert first[2]["channel"] == "ticker" and first[2]["ticker"] is None

        served.state.handle(ticker_frame("ETH/USD"))  # not subscribed to ETH
        served.state.handle(served.btc.touch(1))
        served.state.handle(ticker_frame("BTC/USD"))
        updates = await receive(ws, 2)
        assert [(m["channel"], m["type"], m["pair"]) for m in updates] == [
            ("book", "update", "XBT/USD"),
            ("ticker", "update", "XBT/USD"),
        ]
        assert updates[0]["best_bid"] == ["30000.0", "2.25000000"]

        served.state.handle(served.btc.touch(2, corrupt=True))
        served.state.handle(BookScript("BTC/USD").snapshot(mid=31000))
        notices = await receive(ws, 3)
        assert [m["type"] for m in notices] == ["resync", "gap", "snapshot"]
        assert notices[2]["best_bid"] == ["31000.0", "1.50000000"]


async def test_a_bad_request_gets_an_error_and_the_socket_stays_open(served: Served) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        await ws.send_str("not json")
        await ws.send_json({"subscribe": ["candles"]})
        await ws.send_json({"subscribe": ["trade"]})
        replies = await receive(ws, 3)
        assert [m["type"] for m in replies[:2]] == ["error", "error"]
        assert "candles" in replies[1]["message"]
        assert replies[2] == {"type": "subscribed", "channels": ["trade"], "pairs": list(PAIRS)}


async def test_a_burst_beyond_capacity_drops_the_oldest_for_that_client_only(served: Served) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(served.url) as ws:
        await ws.send_json({"subscribe": ["book"], "pairs": ["XBT/USD"]})
        await receive(ws, 2)
        # One exchange frame after another with no await in between: the writer cannot run meanwhile.
        for n in range(120):
            served.state.handle(served.btc.touch(n))
        got = await receive(ws, 51)
        assert got[0] == {"type": "dropped", "count": 70}
        assert got[-1]["best_bid"] == ["30000.0", f"{119 % 7 + 1}.25000000"]  # the newest survived
        assert served.hub.dropped == 70


async def test_a_client_that_stops_reading_is_dropped_and_never_blocks_publishing(served: Served) -> None:
    served.hub.capacity = 10_000
    blob = "x" * 256_000
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(served.url, max_msg_size=0) as stuck,
        session.ws_connect(served.url, max_msg_size=0) as reader,
    ):
        for ws in (stuck, reader):
            await ws.send_json({"subscribe": ["ticker"], "pairs": ["XBT/USD"]})
            await receive(ws, 2)
        received = 0

        async def read() -> None:
            nonlocal received
            async for message in reader:
                if json.loads(message.data).get("blob"):
                    received += 1

        reading = asyncio.create_task(read())
        # Publishing cannot wait for a client: it is a plain call that only queues (how long one takes is a
        # benchmark's business, not this test's).
        assert not inspect.iscoroutinefunction(served.hub.publish)
        for _ in range(200):  # ~50 MB each: far past the socket buffers of the client that never reads
            served.hub.publish(Channel.TICKER, "XBT/USD", {"type": "update", "blob": blob})
            await asyncio.sleep(0)

        async def stuck_is_gone() -> bool:
            return served.hub.slow_disconnects == 1

        await async_wait_until(stuck_is_gone, timeout=20, what="the stuck client to be disconnected")

        async def reader_has_all() -> bool:
            return received == 200

        await async_wait_until(reader_has_all, timeout=20, what="the reading client to get every message")
        assert len(served.hub.clients) == 1
        reading.cancel()
