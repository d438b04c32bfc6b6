"""The `/stream` WebSocket that other components (portfolio, trader) read market data from.

Publishing never waits: each message is rendered once, then offered to a bounded queue per client; a
full queue drops its oldest message (counted, and told to the client). A client whose socket will not take
a message within `send_timeout` is disconnected. So a slow consumer can never hold up the exchange reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import WSMsgType, web

from tradingbot_components.market_data.stream_messages import (
    BadSubscription,
    Channel,
    Subscription,
    dropped_notice,
    error_message,
    parse_subscription,
    subscribed_message,
)

log = logging.getLogger(__name__)

# The hub asks market data for the current state of (channels, pairs) when a client subscribes.
SnapshotSource = Callable[[Iterable[Channel], Iterable[str]], list[dict[str, Any]]]


class StreamClient:
    """One subscriber: its filter and its bounded outbox."""

    def __init__(self, client_id: int, peer: str, capacity: int) -> None:
        self.id = client_id
        self.peer = peer
        self.capacity = capacity
        self.subscription: Subscription | None = None
        self._outbox: deque[str] = deque()
        self._ready = asyncio.Event()
        self.sent = 0
        self.dropped = 0
        self._dropped_told = 0

    def wants(self, channel: Channel | None, pair: str) -> bool:
        sub = self.subscription
        return sub is not None and pair in sub.pairs and (channel is None or channel in sub.channels)

    def offer(self, text: str) -> None:
        """Queue a message; when the outbox is full the oldest one goes."""
        if len(self._outbox) >= self.capacity:
            self._outbox.popleft()
            self.dropped += 1
        self._outbox.append(text)
        self._ready.set()

    @property
    def queued(self) -> int:
        return len(self._outbox)

    async def next_message(self) -> str:
        """The next text to send: a `dropped` notice first when messages were lost since the last one."""
        while not self._outbox:
            self._ready.clear()
            await self._ready.wait()
        if self.dropped != self._dropped_told:
            self._dropped_told = self.dropped
            return json.dumps(dropped_notice(self.dropped))
        return self._outbox.popleft()

    def describe(self) -> dict[str, Any]:
        sub = self.subscription
        return {
            "id": self.id,
            "peer": self.peer,
            "channels": sorted(c.value for c in sub.channels) if sub else [],
            "pairs": list(sub.pairs) if sub else [],
            "queued": self.queued,
            "sent": self.sent,
            "dropped": self.dropped,
        }


class StreamHub:
    """The `StreamSink` of market data and the aiohttp handler of `/stream`."""

    def __init__(
        self,
        *,
        capacity: int = 1000,
        send_timeout: float = 10.0,
        heartbeat: float = 30.0,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.send_timeout = send_timeout
        self.heartbeat = heartbeat
        self.pairs: tuple[str, ...] = ()
        self.snapshots: SnapshotSource | None = None  # set once market data is running
        self.clients: dict[int, StreamClient] = {}
        self._sockets: dict[int, web.WebSocketResponse] = {}
        self._ids = itertools.count(1)
        self.published = 0
        self.slow_disconnects = 0
        self._dropped_by_gone = 0  # drops counted by clients that have since left

    def attach(self, pairs: Iterable[str], snapshots: SnapshotSource) -> None:
        self.pairs = tuple(pairs)
        self.snapshots = snapshots

    @property
    def dropped(self) -> int:
        """Messages dropped for slow clients since start."""
        return self._dropped_by_gone + sum(c.dropped for c in self.clients.values())

    # -- StreamSink ----------------------------------------------------------------------------------

    def wants(self, channel: Channel, pair: str) -> bool:
        return any(client.wants(channel, pair) for client in self.clients.values())

    def publish(self, channel: Channel | None, pair: str, message: Mapping[str, Any]) -> None:
        text: str | None = None
        for client in self.clients.values():
            if client.wants(channel, pair):
                if text is None:
                    text = json.dumps(message)
                client.offer(text)
        if text is not None:
            self.published += 1

    # -- the endpoint --------------------------------------------------------------------------------

    def add_to(self, app: web.Application, path: str = "/stream") -> None:
        app.router.add_get(path, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.snapshots is None:
            raise web.HTTPServiceUnavailable(text="market data is not running yet")
        ws = web.WebSocketResponse(heartbeat=self.heartbeat)
        await ws.prepare(request)
        client = StreamClient(next(self._ids), request.remote or "?", self.capacity)
        self.clients[client.id] = client
        self._sockets[client.id] = ws
        writer = asyncio.create_task(self._write(client, ws), name=f"stream-writer-{client.id}")
        log.info("stream client %d connected from %s", client.id, client.peer)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._on_request(client, message.data)
                elif message.type is WSMsgType.ERROR:
                    break
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._forget(client)
            log.info(
                "stream client %d left (sent %d, dropped %d)",
                client.id,
                client.sent,
                client.dropped,
                extra={"client": client.id, "sent": client.sent, "dropped": client.dropped},
            )
        return ws

    def _on_request(self, client: StreamClient, text: str) -> None:
        try:
            subscription = parse_subscription(json.loads(text), self.pairs)
        except (ValueError, BadSubscription) as exc:
            client.offer(json.dumps(error_message(str(exc))))
            return
        assert self.snapshots is not None
        # No await from here on: the snapshot is queued before any update published after it.
        client.subscription = subscription
        client.offer(json.dumps(subscribed_message(subscription)))
        for message in self.snapshots(subscription.channels, subscription.pairs):
            client.offer(json.dumps(message))

    async def _write(self, client: StreamClient, ws: web.WebSocketResponse) -> None:
        while not ws.closed:
            text = await client.next_message()
            try:
                async with asyncio.timeout(self.send_timeout):
                    await ws.send_str(text)
            except TimeoutError:
                self.slow_disconnects += 1
                log.warning(
                    "stream client %d did not take a message within %.1fs; disconnecting it",
                    client.id,
                    self.send_timeout,
                    extra={"client": client.id},
                )
                self._forget(client)  # stop queueing for it at once
                # A stuck peer cannot take a close frame either: give it a moment, then drop the transport.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await ws.close(code=1013, message=b"too slow")  # 1013: try again later
                return
            except ConnectionError:
                return
            client.sent += 1

    def _forget(self, client: StreamClient) -> None:
        if self.clients.pop(client.id, None) is not None:
            self._dropped_by_gone += client.dropped
        self._sockets.pop(client.id, None)

    async def close_all(self) -> None:
        """Close every client (on shutdown, before the HTTP server goes)."""

        async def close(ws: web.WebSocketResponse) -> None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):  # a stuck peer gets its transport dropped instead
                    await ws.close(code=1001, message=b"market data is stopping")

        await asyncio.gather(*(close(ws) for ws in list(self._sockets.values())))

    def status(self) -> dict[str, Any]:
        return {
            "clients": len(self.clients),
            "published": self.published,
            "dropped": self.dropped,
            "slow_disconnects": self.slow_disconnects,
            "capacity": self.capacity,
            "by_client": [client.describe() for client in self.clients.values()],
        }
