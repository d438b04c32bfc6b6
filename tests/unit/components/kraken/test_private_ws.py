"""`PrivateFeed` over a real socket against a tiny private WS v2 endpoint on 127.0.0.1: a token per
connection, `on_synced` once every channel's snapshot arrived (on each connection), a sequence gap or a
refused subscription → reconnect with a fresh token and fresh snapshots, exact decimals."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.support.waiting import async_wait_until
from tradingbot_components.kraken.private_ws import PrivateChannel, PrivateFeed
from tradingbot_components.market_data.reconnect import ConnectionBudget, ReconnectPolicy

CHANNELS = (PrivateChannel("executions", {"snap_orders": True}), PrivateChannel("balances"))
# Reconnect at once twice, then every 0.3 s: quick, and far from the connection budget however long it takes.
QUICK = ReconnectPolicy(quick_attempts=2, quick_jitter=0.0, floor=0.3, cap=0.3)


class FakePrivateKraken:
    """Acks private subscriptions and sends each channel's snapshot unless told to hold one back."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.subscriptions: list[dict[str, Any]] = []  # params of every subscribe, all connections
        self.held_back: set[str] = set()  # channels whose snapshot waits for `send_snapshot`
        self.refuse: str | None = None  # error for every subscribe while set
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakePrivateKraken]:
        async with serve(self._handle, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/v2"
            yield self

    async def send(self, frame: Mapping[str, Any]) -> None:
        await self.connections[-1].send(json.dumps(frame))

    async def send_snapshot(self, channel: str) -> None:
        await self.send(_snapshot(channel))

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                request = json.loads(raw)
                if request.get("method") == "ping":
                    await ws.send(json.dumps({"method": "pong", "req_id": request.get("req_id")}))
                    continue
                params = request["params"]
                self.subscriptions.append(params)
                ack: dict[str, Any] = {"method": "subscribe", "req_id": request["req_id"]}
                if self.refuse is not None:
                    await ws.send(json.dumps({**ack, "success": False, "error": self.refuse}))
                    continue
                await ws.send(json.dumps({**ack, "success": True, "result": {"channel": params["channel"]}}))
                if params["channel"] not in self.held_back:
                    await ws.send(json.dumps(_snapshot(params["channel"])))


def _snapshot(channel: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    if channel == "balances":
        data = [{"asset": "USD", "balance": 0}]
    return {"channel": channel, "type": "snapshot", "data": data, "sequence": 1}


class Owner:
    """What a component gives the feed: tokens, and records of messages, syncs and losses."""

    def __init__(self) -> None:
        self.tokens_issued = 0
        self.messages: list[Mapping[str, Any]] = []
        self.synced = 0
        self.lost: list[str] = []

    async def token(self) -> str:
        self.tokens_issued += 1
        return f"token-{self.tokens_issued}"

    def on_message(self, message: Mapping[str, Any]) -> None:
        self.messages.append(message)

    async def on_synced(self) -> None:
        self.synced += 1


@pytest.fixture
async def kraken() -> AsyncIterator[FakePrivateKraken]:
    async with FakePrivateKraken().running() as fake:
        yield fake


@pytest.fixture
async def owner_and_feed(kraken: FakePrivateKraken) -> AsyncIterator[tuple[Owner, PrivateFeed]]:
    owner = Owner()
    feed = PrivateFeed(
        kraken.url,
        owner.token,
        CHANNELS,
        owner.on_message,
        on_synced=owner.on_synced,
        on_lost=owner.lost.append,
        policy=QUICK,
        budget=ConnectionBudget(limit=150),
        rng=random.Random(1),
    )
    feed.start()
    try:
        yield owner, feed
    finally:
        await feed.stop()


async def _until(predicate: Any, what: str) -> Any:
    async def probe() -> Any:
        return predicate()

    return await async_wait_until(probe, timeout=5, what=what)


async def test_synced_only_once_every_channel_sent_its_snapshot(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, feed = owner_and_feed
    kraken.held_back = {"balances"}
    await _until(
        lambda: [m for m in owner.messages if m["channel"] == "executions"], "the executions snapshot"
    )
    assert owner.synced == 0 and not feed.synced

    await kraken.send_snapshot("balances")
    await _until(lambda: owner.synced == 1, "on_synced")
    assert feed.synced and feed.connected
    assert [p["token"] for p in kraken.subscriptions] == ["token-1", "token-1"]
    assert kraken.subscriptions[0] == {"channel": "executions", "token": "token-1", "snap_orders": True}


async def test_on_synced_runs_again_after_a_reconnect_with_a_fresh_token(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, feed = owner_and_feed
    await _until(lambda: owner.synced == 1, "the first sync")

    kraken.connections[-1].transport.abort()  # a network failure: no close frame
    await _until(lambda: owner.synced == 2, "a sync on the new connection")
    assert feed.connects == 2 and len(owner.lost) == 1
    assert owner.tokens_issued == 2
    assert [p["token"] for p in kraken.subscriptions[-2:]] == ["token-2", "token-2"]


async def test_a_sequence_gap_drops_the_connection_and_resubscribes_with_a_fresh_token(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, _feed = owner_and_feed
    await _until(lambda: owner.synced == 1, "the first sync")
    update = {"channel": "balances", "type": "update", "data": [{"asset": "USD", "balance": 1}]}
    await kraken.send({**update, "sequence": 2})
    await kraken.send({**update, "sequence": 4})  # 3 was lost

    await _until(lambda: owner.synced == 2, "a resync after the gap")
    assert owner.lost == ["balances: sequence jumped from 2 to 4"]
    assert owner.tokens_issued == 2 and kraken.subscriptions[-1]["token"] == "token-2"
    assert len(kraken.connections) == 2
    # The frame after the gap was never handed to the owner: it cannot be trusted.
    sequences = [m.get("sequence") for m in owner.messages if m["channel"] == "balances"]
    assert sequences == [1, 2, 1]


async def test_a_refused_subscription_is_retried_on_a_new_connection(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, feed = owner_and_feed
    await _until(lambda: owner.synced == 1, "the first sync")
    kraken.refuse = "EAPI:Invalid token"
    kraken.connections[-1].transport.abort()
    await _until(lambda: feed.last_error == "subscription refused: EAPI:Invalid token", "the refusal")
    assert not feed.synced

    kraken.refuse = None
    await _until(lambda: owner.synced == 2, "a sync once subscriptions are accepted")


async def test_amounts_arrive_as_exact_decimals(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, _feed = owner_and_feed
    await _until(lambda: owner.synced == 1, "the first sync")
    await kraken.connections[-1].send(
        '{"channel":"balances","type":"update","sequence":2,"data":[{"asset":"BTC","balance":0.10000000}]}'
    )
    update = await _until(lambda: [m for m in owner.messages if m.get("type") == "update"], "the update")
    assert update[0]["data"][0]["balance"] == Decimal("0.10000000")
    assert str(update[0]["data"][0]["balance"]) == "0.10000000"


async def test_stop_closes_without_reporting_a_loss(
    kraken: FakePrivateKraken, owner_and_feed: tuple[Owner, PrivateFeed]
) -> None:
    owner, feed = owner_and_feed
    await _until(lambda: owner.synced == 1, "the first sync")
    await feed.stop()
    assert owner.lost == [] and not feed.connected
    await asyncio.sleep(0)
