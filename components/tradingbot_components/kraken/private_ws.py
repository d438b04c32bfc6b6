"""A private WebSocket v2 connection (`executions`, `balances`): a fresh token from auth for every
connection, subscribe, hand each data message to the owner, and reconnect with Kraken's backoff.

Kraken numbers each private channel's messages with `sequence`; a skipped number means a message was lost,
so the connection is dropped and the next one starts from fresh snapshots. After every (re)subscription,
once each channel's snapshot has arrived, `on_synced` runs: the owner's chance to reconcile against REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tradingbot_components.market_data.reconnect import ConnectionBudget, ReconnectPolicy, next_attempt_delay
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

TokenSource = Callable[[], Awaitable[str]]
MessageHandler = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class PrivateChannel:
    """One private subscription: `executions` with `{"snap_orders": True}`, `balances`, ..."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


class FeedLost(Exception):
    """The connection cannot be trusted any more (a sequence gap, a refused subscription, silence)."""


class PrivateFeed:
    """Keeps one authenticated WS v2 connection subscribed to `channels` until `stop()`."""

    def __init__(
        self,
        url: str,
        token: TokenSource,
        channels: Sequence[PrivateChannel],
        on_message: MessageHandler,
        *,
        on_synced: Callable[[], Awaitable[None]] | None = None,
        on_lost: Callable[[str], None] | None = None,
        name: str = "private-feed",
        policy: ReconnectPolicy | None = None,
        budget: ConnectionBudget | None = None,
        inactivity_timeout: float = 10.0,
        open_timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.channels = tuple(channels)
        self.name = name
        self.policy = policy or ReconnectPolicy()
        self.budget = budget or ConnectionBudget(limit=30)
        self.inactivity_timeout = inactivity_timeout
        self.open_timeout = open_timeout
        self._token = token
        self._on_message = on_message
        self._on_synced = on_synced
        self._on_lost = on_lost or (lambda _reason: None)
        self._rng = rng or random.Random()
        self._req_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._sequences: dict[str, int] = {}
        self._awaiting: set[str] = set()
        self._stopping = False
        self.connected = False
        self.synced = False
        self.connects = 0
        self.failures_in_a_row = 0
        self.last_error: str | None = None
        self.last_message_at: float | None = None
        self.synced_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await ws.close(code=1001, reason="stopping")
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def drop(self, reason: str) -> None:
        """Close the connection now; the loop reconnects and resubscribes (fresh snapshots follow)."""
        ws = self._ws
        if ws is not None:
            log.warning("%s: reconnecting: %s", self.name, reason)
            self.last_error = reason
            asyncio.get_running_loop().create_task(ws.close(code=1000, reason="resync"))

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "channels": [c.name for c in self.channels],
            "connected": self.connected,
            "synced": self.synced,
            "connects": self.connects,
            "failures_in_a_row": self.failures_in_a_row,
            "last_error": self.last_error,
            "last_message_at": self.last_message_at,
            "synced_at": self.synced_at,
        }

    # -- the connection loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            await self._wait_for_next_attempt()
            self.budget.record(time.time())
            opened: float | None = None
            try:
                token = await self._fresh_token()
                async with connect(self.url, open_timeout=self.open_timeout, close_timeout=2) as ws:
                    opened = time.monotonic()
                    await self._session(ws, token)
                    self.last_error = "the exchange closed the connection"
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException, FeedLost) as exc:
                self.last_error = describe_error(exc) if not isinstance(exc, FeedLost) else str(exc)
            except Exception as exc:  # never let the loop die: the owner would stay unready forever
                self.last_error = describe_error(exc)
                log.exception("%s: unexpected error", self.name)
            finally:
                self._ws = None
                was_connected, self.connected, self.synced = self.connected, False, False
                if was_connected and not self._stopping:
                    self._on_lost(self.last_error or "connection lost")
            if self._stopping:
                return
            lived = time.monotonic() - opened if opened is not None else 0.0
            self.failures_in_a_row = 1 if lived >= self.policy.stable_after else self.failures_in_a_row + 1
            log.warning(
                "%s: connection %s: %s",
                self.name,
                "lost" if opened is not None else "failed",
                self.last_error,
                extra={"url": self.url, "failures_in_a_row": self.failures_in_a_row},
            )

    async def _fresh_token(self) -> str:
        # Auth being down or restarting is an expected failure: retried like a refused connection.
        try:
            return await self._token()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise FeedLost(f"no WebSocket token: {describe_error(exc)}") from None

    async def _wait_for_next_attempt(self) -> None:
        now = time.time()
        if self.failures_in_a_row == 0:
            delay = self.budget.wait_time(now)
        else:
            delay = next_attempt_delay(self.failures_in_a_row, self.policy, self.budget, now, self._rng)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection, token: str) -> None:
        self._ws = ws
        self.connected = True
        self.connects += 1
        self._sequences.clear()
        self._awaiting = {c.name for c in self.channels}
        for channel in self.channels:
            params = {"channel": channel.name, "token": token, **channel.params}
            await ws.send(
                json.dumps({"method": "subscribe", "params": params, "req_id": next(self._req_ids)})
            )
        log.info("%s: connected to %s", self.name, self.url, extra={"connects": self.connects})
        half = self.inactivity_timeout / 2
        last_rx = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(half):
                    raw = await ws.recv()
            except TimeoutError:
                if time.monotonic() - last_rx >= self.inactivity_timeout * 0.999:
                    raise FeedLost(f"no message for {time.monotonic() - last_rx:.1f}s") from None
                await ws.send(json.dumps({"method": "ping", "req_id": next(self._req_ids)}))
                continue
            last_rx = time.monotonic()
            self.last_message_at = time.time()
            await self._handle(raw)

    async def _handle(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw, parse_float=Decimal)  # amounts stay exact
        except ValueError:
            raise FeedLost(f"unreadable frame: {str(raw)[:80]!r}") from None
        if not isinstance(message, dict):
            return
        if message.get("method") == "subscribe" and message.get("success") is False:
            raise FeedLost(f"subscription refused: {message.get('error')}")
        channel = message.get("channel")
        if channel not in self._wanted or not isinstance(message.get("data"), list):
            return
        sequence = message.get("sequence")
        if isinstance(sequence, int):
            previous = self._sequences.get(channel)
            if previous is not None and sequence != previous + 1:
                raise FeedLost(f"{channel}: sequence jumped from {previous} to {sequence}")
            self._sequences[channel] = sequence
        self._on_message(message)
        if message.get("type") == "snapshot" and channel in self._awaiting:
            self._awaiting.discard(channel)
            if not self._awaiting:
                await self._synced()

    async def _synced(self) -> None:
        if self._on_synced is not None:
            await self._on_synced()
        self.synced = True
        self.synced_at = time.time()
        self.failures_in_a_row = 0

    @property
    def _wanted(self) -> frozenset[str]:
        return frozenset(c.name for c in self.channels)
