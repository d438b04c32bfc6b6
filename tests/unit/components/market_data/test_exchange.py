"""The exchange client shell over a real socket against a fake Kraken: subscriptions, resubscribing one
pair after a bad checksum, reconnecting (and resubscribing everything) after a drop or a silence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from tests.support.waiting import async_wait_until
from tests.unit.components.market_data.fake_kraken import FakeKraken
from tradingbot_components.market_data import ConnectionBudget, MarketState, ReconnectPolicy, ResyncPolicy
from tradingbot_components.market_data.exchange import ExchangeFeed, WsChannel, subscribe_request


def test_request_shapes() -> None:
    assert subscribe_request(WsChannel.BOOK, ["BTC/USD"], 7, depth=10) == {
        "method": "subscribe",
        "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10, "snapshot": True},
        "req_id": 7,
    }
    # Kraken wants the depth repeated when unsubscribing a book.
    assert subscribe_request(WsChannel.BOOK, ["BTC/USD"], 8, depth=10, method="unsubscribe")["params"] == {
        "channel": "book",
        "symbol": ["BTC/USD"],
        "depth": 10,
    }
    assert subscribe_request(WsChannel.TICKER, ["BTC/USD"], 9)["params"] == {
        "channel": "ticker",
        "symbol": ["BTC/USD"],
    }


@dataclass
class Rig:
    kraken: FakeKraken
    state: MarketState
    feed: ExchangeFeed

    async def until(self, probe: Callable[[], object], what: str, timeout: float = 10) -> None:
        async def check() -> bool:
            return bool(probe())

        await async_wait_until(check, timeout=timeout, what=what)


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    options = getattr(request, "param", {})
    kraken = FakeKraken()
    async with kraken.running():
        state = MarketState(["XBT/USD", "ETH/USD"], resync_policy=options.get("resync"))
        feed = ExchangeFeed(
            kraken.url,
            state,
            policy=ReconnectPolicy(quick_jitter=0.01),
            inactivity_timeout=options.get("inactivity", 30.0),
        )
        feed.start()
        try:
            yield Rig(kraken, state, feed)
        finally:
            await feed.stop()


async def test_subscribes_every_channel_and_gets_in_sync(rig: Rig) -> None:
    await rig.until(rig.state.all_in_sync, "both books in sync")
    subscribed = {r["params"]["channel"]: r["params"] for r in rig.kraken.requests_for("subscribe")}
    assert subscribed == {
        "book": {"channel": "book", "symbol": ["BTC/USD", "ETH/USD"], "depth": 10, "snapshot": True},
        "ticker": {"channel": "ticker", "symbol": ["BTC/USD", "ETH/USD"]},
        "trade": {"channel": "trade", "symbol": ["BTC/USD", "ETH/USD"], "snapshot": True},
    }
    assert rig.feed.connected and rig.feed.system_status == "online"
    assert (rig.feed.connects, rig.feed.reconnects) == (1, 0)


async def test_a_bad_checksum_resubscribes_that_book_only(rig: Rig) -> None:
    await rig.until(rig.state.all_in_sync, "both books in sync")
    btc = rig.kraken.books["BTC/USD"]
    await rig.kraken.send(btc.touch(1))
    await rig.kraken.send(btc.touch(2, corrupt=True))
    await rig.until(lambda: rig.kraken.requests_for("unsubscribe"), "the unsubscribe")
    await rig.until(rig.state.all_in_sync, "the fresh BTC snapshot")

    unsubscribe = rig.kraken.requests_for("unsubscribe")
    assert [r["params"] for r in unsubscribe] == [{"channel": "book", "symbol": ["BTC/USD"], "depth": 10}]
    book_subscribes = rig.kraken.requests_for("subscribe", "book")
    assert [r["params"]["symbol"] for r in book_subscribes] == [["BTC/USD", "ETH/USD"], ["BTC/USD"]]
    assert rig.kraken.requests.index(unsubscribe[0]) < rig.kraken.requests.index(book_subscribes[1])
    feed = rig.state.feed("XBT/USD")
    assert (feed.resyncs, feed.snapshots, rig.feed.resubscribes, rig.feed.connects) == (1, 2, 1, 1)
    assert feed.last_gap is not None and feed.last_gap.reason == "checksum_mismatch"


async def test_a_dropped_connection_reconnects_resubscribes_and_reports_the_gap(rig: Rig) -> None:
    await rig.until(rig.state.all_in_sync, "both books in sync")
    await rig.kraken.drop()
    await rig.until(lambda: rig.feed.reconnects == 1 and rig.state.all_in_sync(), "reconnect and resync")

    assert len(rig.kraken.connections) == 2
    assert len(rig.kraken.requests_for("subscribe")) == 6  # three channels, twice
    gaps = {f.pair: f.last_gap for f in rig.state.feeds.values()}
    assert all(gap is not None and gap.reason == "disconnected" for gap in gaps.values())
    assert rig.feed.status()["reconnects"] == 1 and rig.feed.last_error is not None


@pytest.mark.parametrize("rig", [{"inactivity": 0.6}], indirect=True)
async def test_a_silent_connection_is_pinged_then_replaced(rig: Rig) -> None:
    await rig.until(rig.state.all_in_sync, "both books in sync")
    rig.kraken.answer_pings = False
    await rig.until(lambda: rig.feed.reconnects >= 1, "a reconnect after the silence")
    assert rig.kraken.requests_for("ping"), "a silent connection is probed with a ping first"
    assert "no message for" in (rig.feed.last_error or "")


@pytest.mark.parametrize("rig", [{"resync": ResyncPolicy(reconnect_after=1)}], indirect=True)
async def test_when_resubscribing_is_not_trusted_it_reconnects(rig: Rig) -> None:
    await rig.until(rig.state.all_in_sync, "both books in sync")
    await rig.kraken.send(rig.kraken.books["ETH/USD"].touch(1, corrupt=True))
    await rig.until(lambda: rig.feed.reconnects == 1 and rig.state.all_in_sync(), "reconnect and resync")
    assert rig.kraken.requests_for("unsubscribe") == []
    assert "fresh snapshots keep failing" in (rig.feed.last_error or "")


async def test_rejected_subscriptions_are_reported() -> None:
    kraken = FakeKraken()
    kraken.reject["trade"] = "Subscription name invalid"
    async with kraken.running():
        state = MarketState(["XBT/USD"])
        feed = ExchangeFeed(kraken.url, state)
        feed.start()
        try:

            async def rejected() -> bool:
                return bool(feed.rejected)

            await async_wait_until(rejected, timeout=10, what="the rejection")
            await async_wait_until(
                lambda: asyncio.sleep(0, state.all_in_sync()), timeout=10, what="the book despite it"
            )
        finally:
            await feed.stop()
    assert feed.rejected[0]["error"] == "Subscription name invalid"
    assert feed.rejected[0]["request"]["channel"] == "trade"
    assert not feed.connected


async def test_stop_ends_the_loop_even_while_waiting_to_reconnect() -> None:
    state = MarketState(["XBT/USD"])
    feed = ExchangeFeed("ws://127.0.0.1:9/v2", state, policy=ReconnectPolicy(quick_attempts=0, floor=30))
    feed.start()

    async def failed() -> bool:
        return feed.next_attempt_at is not None

    await async_wait_until(failed, timeout=10, what="a failed attempt")
    async with asyncio.timeout(2):
        await feed.stop()
    assert not feed.connected and feed.attempts == 1 and feed.last_error


async def test_the_client_waits_when_its_connection_budget_is_spent() -> None:
    state = MarketState(["XBT/USD"])
    feed = ExchangeFeed(
        "ws://127.0.0.1:9/v2",  # nothing listens there: every attempt is refused at once
        state,
        policy=ReconnectPolicy(quick_attempts=5, quick_jitter=0.0),
        budget=ConnectionBudget(limit=2, window=600),
    )
    feed.start()
    try:

        async def parked() -> bool:
            return feed.attempts == 2 and feed.next_attempt_at is not None

        await async_wait_until(parked, timeout=10, what="two refused attempts, then a long wait")
        assert feed.next_attempt_at is not None
        assert 590 < feed.next_attempt_at - time.time() <= 601  # until the first attempt leaves the window
        assert feed.status()["attempts_in_window"] == 2
    finally:
        await feed.stop()


async def test_without_asset_pairs_precisions_come_from_the_snapshot() -> None:
    kraken = FakeKraken()
    async with kraken.running():
        state = MarketState(["XBT/USD"])
        feed = ExchangeFeed(kraken.url, state, rest_url="http://127.0.0.1:9")  # REST refuses
        feed.start()
        try:

            async def synced() -> bool:
                return state.all_in_sync()

            await async_wait_until(synced, timeout=10, what="the book despite REST being down")
        finally:
            await feed.stop()
    used = state.feed("XBT/USD").precision_used
    assert used is not None and (used.price, used.qty, used.source.value) == (1, 8, "snapshot")
