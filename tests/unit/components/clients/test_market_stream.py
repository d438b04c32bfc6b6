"""The market-data `/stream` client over a real socket: quotes from checksum-verified books only, exact
decimals, a pair's quote withdrawn on `resync` and every quote withdrawn when the stream is lost, then
resubscribed on the next connection."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.support.waiting import async_wait_until
from tradingbot_components.clients.market_stream import MarketStream, Quote, parse_quote


def book(state: str = "in_sync", bid: str = "50000.10", ask: str = "50000.30") -> dict[str, Any]:
    """A `/stream` book message as market-data sends it (decimal strings, configured pair name)."""
    return {
        "type": "update",
        "channel": "book",
        "pair": "XBT/USD",
        "symbol": "BTC/USD",
        "state": state,
        "best_bid": [bid, "1.50000000"],
        "best_ask": [ask, "0.25000000"],
        "bids": [],
        "asks": [],
        "checksum": 1,
    }


class FakeMarketData:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeMarketData]:
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self.url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/stream"
            yield self

    async def send(self, message: dict[str, Any]) -> None:
        await self.connections[-1].send(json.dumps(message))

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                self.requests.append(json.loads(raw))


@dataclass
class Streaming:
    fake: FakeMarketData
    stream: MarketStream
    quotes: list[Quote] = field(default_factory=list)  # as passed to on_quote
    invalid: list[tuple[str, str]] = field(default_factory=list)  # as passed to on_invalid

    async def wait_quote(self, present: bool = True, what: str = "a quote") -> None:
        async def done() -> bool:
            return ("BTC/USD" in self.stream.quotes) is present

        await async_wait_until(done, timeout=5, what=what)


@contextlib.asynccontextmanager
async def streaming(pairs: list[str]) -> AsyncIterator[Streaming]:
    """A fake market data and a `MarketStream` subscribed to it."""
    async with FakeMarketData().running() as fake:
        quotes: list[Quote] = []
        invalid: list[tuple[str, str]] = []
        stream = MarketStream(
            fake.url,
            pairs,
            quotes.append,
            on_invalid=lambda pair, reason: invalid.append((pair, reason)),
            retry_delay=0.05,
        )
        stream.start()
        try:

            async def subscribed() -> bool:
                return len(fake.requests) >= 1 and stream.connected

            await async_wait_until(subscribed, timeout=5, what="the stream to subscribe")
            yield Streaming(fake, stream, quotes, invalid)
        finally:
            await stream.stop()


def test_a_verified_book_is_a_quote_with_exact_prices() -> None:
    quote = parse_quote(book(), received_at=12.5)
    assert quote is not None
    assert quote.pair == "BTC/USD"
    assert (quote.bid, quote.ask, quote.bid_qty) == (D("50000.10"), D("50000.30"), D("1.5"))
    assert quote.mid == D("50000.20") and quote.spread == D("0.20")
    assert quote.received_at == 12.5


def test_anything_but_a_verified_book_is_no_quote() -> None:
    assert parse_quote(book(state="resyncing"), 0) is None
    assert parse_quote({**book(), "best_bid": None}, 0) is None
    assert parse_quote({**book(), "channel": "ticker"}, 0) is None
    assert parse_quote({**book(), "type": "resync"}, 0) is None


async def test_it_subscribes_to_books_and_passes_quotes_on() -> None:
    async with streaming(["XBT/USD"]) as it:
        assert it.fake.requests[0] == {"subscribe": ["book"], "pairs": ["XBT/USD"]}
        await it.fake.send(book(state="awaiting_snapshot"))
        await it.fake.send(book())
        await it.wait_quote()
        assert [q.mid for q in it.quotes] == [D("50000.20")]  # the unverified book gave none
        assert it.stream.status()["quotes"]["BTC/USD"]["bid"] == "50000.10"


async def test_a_resync_withdraws_the_pair_s_quote_until_the_next_good_book() -> None:
    async with streaming(["XBT/USD"]) as it:
        await it.fake.send(book())
        await it.wait_quote()
        await it.fake.send({"type": "resync", "pair": "XBT/USD", "reason": "checksum_mismatch"})
        await it.wait_quote(present=False, what="the quote to be withdrawn")
        assert it.invalid == [("BTC/USD", "checksum_mismatch")]
        await it.fake.send(book(bid="49999.0", ask="50001.0"))
        await it.wait_quote(what="a quote again")
        assert it.stream.quotes["BTC/USD"].mid == D("50000.0")


async def test_a_lost_stream_withdraws_every_quote_and_resubscribes() -> None:
    async with streaming(["XBT/USD"]) as it:
        await it.fake.send(book())
        await it.wait_quote()
        it.fake.connections[-1].transport.abort()

        async def resubscribed() -> bool:
            return len(it.fake.requests) >= 2 and it.stream.connected

        await async_wait_until(resubscribed, timeout=5, what="a new subscription")
        assert it.invalid == [("BTC/USD", "market data stream lost")]
        assert it.stream.quotes == {} and it.stream.last_error is None
        await it.fake.send(book())
        await it.wait_quote(what="a quote on the new connection")


async def test_a_refused_subscription_is_reported() -> None:
    async with streaming(["DOGE/EUR"]) as it:
        await it.fake.send({"type": "error", "message": "pairs[0]: 'DOGE/EUR' is not a configured pair"})

        async def reported() -> bool:
            return it.stream.last_error is not None

        await async_wait_until(reported, timeout=5, what="the error")
        assert "not a configured pair" in str(it.stream.last_error)
