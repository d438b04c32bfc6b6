"""A tiny in-process stand-in for Kraken's WS v2 endpoint, for testing the client shell over a real socket:
it records requests, acks them, answers book subscriptions with a fresh snapshot, and lets a test push
frames, reject subscriptions, go silent or drop the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.unit.components.market_data.frames import BookScript, wire


class FakeKraken:
    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.requests: list[dict[str, Any]] = []  # every request, all connections
        self.books: dict[str, BookScript] = {}
        self.reject: dict[str, str] = {}  # channel -> error for its subscribe
        self.answer_pings = True
        self._server: Server | None = None
        self.url = ""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeKraken]:
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self._server = server
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/v2"
            yield self

    def requests_for(self, method: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r.get("method") == method
            and (channel is None or r.get("params", {}).get("channel") == channel)
        ]

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connections[-1].send(wire(frame))

    async def drop(self) -> None:
        """Close the current connection abruptly (no close frame), like a network failure."""
        self.connections[-1].transport.abort()

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        await ws.send(json.dumps({"channel": "status", "type": "update", "data": [{"system": "online"}]}))
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                request = json.loads(raw)
                self.requests.append(request)
                await self._answer(ws, request)

    async def _answer(self, ws: ServerConnection, request: dict[str, Any]) -> None:
        method, params = request.get("method"), request.get("params", {})
        if method == "ping":
            if self.answer_pings:
                await ws.send(json.dumps({"method": "pong", "req_id": request.get("req_id")}))
            return
        channel = params.get("channel")
        if channel in self.reject and method == "subscribe":
            ack = {
                "method": method,
                "success": False,
                "error": self.reject[channel],
                "req_id": request["req_id"],
            }
            await ws.send(json.dumps(ack))
            return
        for symbol in params.get("symbol", []):
            result = {"channel": channel, "symbol": symbol}
            await ws.send(
                json.dumps({"method": method, "success": True, "result": result, "req_id": request["req_id"]})
            )
            if method == "subscribe" and channel == "book":
                self.books[symbol] = BookScript(symbol, depth=params.get("depth", 10))
                await ws.send(wire(self.books[symbol].snapshot()))


async def settle() -> None:
    """Let frames already on the loopback socket be read (bounded, no fixed sleeps in assertions)."""
    for _ in range(20):
        await asyncio.sleep(0)
