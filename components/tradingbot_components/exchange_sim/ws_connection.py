"""One WebSocket v2 client of the simulator: its subscriptions, the symbol spelling it uses, the account
its token names, and an outbound queue drained by one writer task (so frames never interleave).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tradingbot_components.exchange_sim.accounts import Account
from tradingbot_components.exchange_sim.catalog import PairSpec
from tradingbot_components.exchange_sim.stats import SimStats
from tradingbot_components.exchange_sim.wire import dumps, rfc3339

log = logging.getLogger(__name__)

MAX_QUEUED = 5000  # frames; a client further behind than this is disconnected


@dataclass(slots=True)
class Subscription:
    channel: str
    pair: PairSpec | None = None
    symbol: str | None = None  # as the client spelled it
    depth: int | None = None
    event_trigger: str = "trades"
    last_bbo: tuple[Any, ...] | None = None


@dataclass(slots=True)
class Connection:
    id: int
    request: web.Request
    ws: web.WebSocketResponse
    stats: SimStats
    subscriptions: dict[tuple[str, str | None], Subscription] = field(default_factory=dict)
    spelling: dict[str, str] = field(default_factory=dict)  # pair id -> the client's symbol
    account: Account | None = None
    sequences: dict[str, int] = field(default_factory=dict)  # private channel -> last sequence
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def symbol(self, pair: PairSpec) -> str:
        return self.spelling.get(pair.id, pair.symbol)

    def next_sequence(self, channel: str) -> int:
        self.sequences[channel] = self.sequences.get(channel, 0) + 1
        return self.sequences[channel]

    def send(self, document: Any) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= MAX_QUEUED:
            log.warning("WS client %d is %d frames behind; disconnecting it", self.id, MAX_QUEUED)
            self.abort()
            return
        self.queue.put_nowait(dumps(document))

    async def write_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                self.closed = True
                return
            self.stats.ws_messages_sent += 1

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (clients see 1006, as after a Cloudflare drop)."""
        self.closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close()


def response(
    method: str,
    time_in: float,
    time_out: float,
    req_id: Any,
    *,
    result: Any = None,
    error: str | None = None,
) -> dict[str, Any]:
    """A v2 method response; `error` (a string in v2) makes it a failure."""
    body: dict[str, Any] = {"method": method}
    if error is None:
        if result is not None:
            body["result"] = result
        body["success"] = True
    else:
        body["error"] = error
        body["success"] = False
    body["time_in"] = rfc3339(time_in)
    body["time_out"] = rfc3339(time_out)
    if req_id is not None:
        body["req_id"] = req_id
    return body
