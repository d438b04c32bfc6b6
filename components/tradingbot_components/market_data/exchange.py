"""The WebSocket v2 client of market data: connect, subscribe book/ticker/trade for every pair, read,
resubscribe a pair whose checksum fails, detect a silent connection, reconnect with backoff.

This is the effectful shell: what to do comes from `MarketState` (books), `resync` and `reconnect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from tradingbot_components.kraken.book import loads_exact
from tradingbot_components.market_data.feeds import Resync
from tradingbot_components.market_data.market_state import MarketState
from tradingbot_components.market_data.reconnect import ConnectionBudget, ReconnectPolicy, next_attempt_delay
from tradingbot_components.market_data.resync import ResyncAction
from tradingbot_components.market_data.symbols import AssetPairsError, fetch_precisions
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class WsChannel(enum.StrEnum):
    BOOK = "book"
    TICKER = "ticker"
    TRADE = "trade"


def subscribe_request(
    channel: WsChannel,
    symbols: list[str],
    req_id: int,
    *,
    depth: int | None = None,
    method: str = "subscribe",
) -> dict[str, Any]:
    """A WS v2 subscribe (or, with `method="unsubscribe"`, unsubscribe) request; book repeats its depth."""
    params: dict[str, Any] = {"channel": channel.value, "symbol": symbols}
    if channel is WsChannel.BOOK and depth is not None:
        params["depth"] = depth
    if method == "subscribe" and channel is not WsChannel.TICKER:
        params["snapshot"] = True  # book: the snapshot we verify from; trade: recent trades for the ring
    return {"method": method, "params": params, "req_id": req_id}


class Inactive(Exception):
    """Nothing arrived for `inactivity_timeout` seconds, not even a heartbeat or a pong."""


class ReconnectRequested(Exception):
    """Market data itself dropped the connection (resubscribing did not fix a book)."""


class ExchangeFeed:
    """Keeps one WS v2 connection alive for `state`'s pairs until `stop()`."""

    def __init__(
        self,
        url: str,
        state: MarketState,
        *,
        rest_url: str | None = None,
        policy: ReconnectPolicy | None = None,
        budget: ConnectionBudget | None = None,
        inactivity_timeout: float = 10.0,
        keepalive_interval: float = 30.0,
        open_timeout: float = 10.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.state = state
        self.rest_url = rest_url
        self.policy = policy or ReconnectPolicy()
        self.budget = budget or ConnectionBudget()
        self.inactivity_timeout = inactivity_timeout
        self.keepalive_interval = keepalive_interval
        self.open_timeout = open_timeout
        self._rng = rng or random.Random()
        self._clock = clock
        self._on_change = on_change or (lambda: None)
        self._req_ids = itertools.count(1)
        self._requests: dict[int, dict[str, Any]] = {}
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._closing: asyncio.Task[None] | None = None  # a close we asked for (kept so it is not collected)
        self._reconnect_reason: str | None = None
        self._stopping = False
        self.connected = False
        self.connected_since: float | None = None
        self.disconnected_since: float | None = None
        self.attempts = 0
        self.connects = 0
        self.reconnects = 0
        self.resubscribes = 0
        self.recovery_resyncs = 0  # resubscribes asked for by the `books` recovery
        self.failures_in_a_row = 0
        self.next_attempt_at: float | None = None
        self.last_error: str | None = None
        self.last_message_at: float | None = None
        self.last_heartbeat_at: float | None = None
        self.system_status: str | None = None
        self.rejected: list[dict[str, Any]] = []  # subscribe errors, most recent last (bounded)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="market-data-exchange-feed")

    async def stop(self) -> None:
        """Close the connection politely (1001 going away), then end the loop."""
        self._stopping = True
        task, self._task = self._task, None
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await ws.close(code=1001, reason="market data is stopping")
        await cancel_and_wait(task)

    def request_reconnect(self, reason: str) -> None:
        """Drop the connection now; the run loop reconnects (and resubscribes everything)."""
        ws = self._ws
        if ws is not None and self._reconnect_reason is None:
            self._reconnect_reason = reason
            log.warning("reconnecting: %s", reason)
            self._closing = asyncio.get_running_loop().create_task(ws.close(code=1000, reason="resync"))

    def resync(self, symbols: list[str]) -> list[str]:
        """Resubscribe these books now (those without a resubscribe in flight) on the live connection; the
        symbols sent. Without a connection nothing is sent: the run loop reconnects and resubscribes all."""
        ws = self._ws
        if ws is None:
            return []
        sent = []
        for symbol in symbols:
            running = self._resyncs.get(symbol)
            if running is not None and not running.done():
                continue
            self._resyncs[symbol] = asyncio.get_running_loop().create_task(
                self._resubscribe(ws, symbol, 0.0), name=f"resync-{symbol}"
            )
            sent.append(symbol)
        self.recovery_resyncs += len(sent)
        return sent

    # -- the connection loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            await self._wait_for_next_attempt()
            self.attempts += 1
            self.budget.record(self._clock())
            opened: float | None = None
            try:
                await self._refresh_precisions()
                async with connect(
                    self.url, open_timeout=self.open_timeout, close_timeout=2, max_size=2**22
                ) as ws:
                    opened = time.monotonic()
                    await self._session(ws)
            except (OSError, TimeoutError, WebSocketException, Inactive, ReconnectRequested) as exc:
                self.last_error = self._reconnect_reason or describe_error(exc)
            except Exception as exc:  # never let the loop die: market data would stay unready forever
                self.last_error = describe_error(exc)
                log.exception("unexpected error in the exchange connection")
            finally:
                if opened is not None:
                    self._lost(report=not self._stopping)
            if self._stopping:
                return
            lived = time.monotonic() - opened if opened is not None else 0.0
            self.failures_in_a_row = 1 if lived >= self.policy.stable_after else self.failures_in_a_row + 1
            log.warning(
                "exchange connection %s: %s",
                "lost" if opened is not None else "failed",
                self.last_error,
                extra={"url": self.url, "failures_in_a_row": self.failures_in_a_row},
            )

    async def _wait_for_next_attempt(self) -> None:
        now = self._clock()
        if self.failures_in_a_row == 0:
            delay = self.budget.wait_time(now)
        else:
            delay = next_attempt_delay(self.failures_in_a_row, self.policy, self.budget, now, self._rng)
        if delay > 0:
            self.next_attempt_at = now + delay
            await asyncio.sleep(delay)
        self.next_attempt_at = None

    async def _refresh_precisions(self) -> None:
        missing = [f.symbol for f in self.state.feeds.values() if f.precision is None]
        if not missing or not self.rest_url:
            return
        try:
            found = await fetch_precisions(self.rest_url, missing)
        except Exception as exc:  # REST trouble must never keep the WebSocket from connecting
            detail = str(exc) if isinstance(exc, AssetPairsError) else describe_error(exc)
            log.warning("pair precisions from AssetPairs unavailable, using book snapshots: %s", detail)
            return
        self.state.set_precisions(found)
        log.info(
            "pair precisions from AssetPairs",
            extra={"precisions": {symbol: p.to_dict() for symbol, p in found.items()}},
        )

    async def _session(self, ws: ClientConnection) -> None:
        self._ws, self._reconnect_reason = ws, None
        self.connected, self.connected_since = True, self._clock()
        self.connects += 1
        gap = None if self.disconnected_since is None else self.connected_since - self.disconnected_since
        if self.connects > 1:
            self.reconnects += 1
        log.info(
            "connected to %s%s",
            self.url,
            "" if gap is None else f" after {gap:.3f}s disconnected",
            extra={"url": self.url, "connects": self.connects},
        )
        try:
            self.state.subscribing()
            symbols = self.state.symbols
            for channel in WsChannel:
                depth = self.state.depth if channel is WsChannel.BOOK else None
                await self._send(ws, subscribe_request(channel, symbols, next(self._req_ids), depth=depth))
            await self._read(ws)
        finally:
            for task in self._resyncs.values():
                task.cancel()
            self._resyncs.clear()
        if self._reconnect_reason is not None:
            raise ReconnectRequested(self._reconnect_reason)

    def _lost(self, *, report: bool) -> None:
        """The connection is gone: every book is invalid (a gap opens), unless we are shutting down."""
        self._ws = None
        self.connected, self.connected_since = False, None
        self.disconnected_since = self._clock()
        if report:
            self.state.connection_lost()
            self._on_change()

    async def _read(self, ws: ClientConnection) -> None:
        """Until the connection closes; raises `Inactive` after `inactivity_timeout` s of silence.

        Heartbeats come about once a second; halfway through a silence we send an application ping, and
        we ping every `keepalive_interval` anyway, since Kraken drops connections that send nothing.
        """
        half = self.inactivity_timeout / 2
        last_rx = last_tx = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(half):
                    raw = await ws.recv()
            except TimeoutError:
                now = time.monotonic()
                if now - last_rx >= self.inactivity_timeout * 0.999:
                    raise Inactive(f"no message for {now - last_rx:.1f}s") from None
                await self._send(ws, {"method": "ping", "req_id": next(self._req_ids)})
                last_tx = now
                continue
            last_rx = time.monotonic()
            self._on_raw(raw)
            if last_rx - last_tx >= self.keepalive_interval:
                await self._send(ws, {"method": "ping", "req_id": next(self._req_ids)})
                last_tx = last_rx

    # -- messages ----------------------------------------------------------------------------------

    def _on_raw(self, raw: str | bytes) -> None:
        self.last_message_at = self._clock()
        try:
            frame = loads_exact(raw)
        except (ValueError, ArithmeticError):  # bad JSON, or a number Decimal cannot hold
            log.warning("undecodable frame from the exchange: %.200r", raw)
            return
        if not isinstance(frame, dict):
            return
        channel = frame.get("channel")
        if channel == "heartbeat":
            self.last_heartbeat_at = self.last_message_at
        elif channel == "status":
            self._on_status(frame)
        elif channel is None:
            self._on_response(frame)
        else:
            for resync in self.state.handle(frame):
                self._schedule(resync)

    def _on_status(self, frame: dict[str, Any]) -> None:
        data = frame.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            system = data[0].get("system")
            if system != self.system_status:
                log.info("exchange status: %s", system, extra={"system": system})
            self.system_status = system

    def _on_response(self, frame: dict[str, Any]) -> None:
        # Not popped: Kraken acks a multi-symbol request once per symbol, all with its req_id.
        req_id = frame.get("req_id")
        request = self._requests.get(req_id) if isinstance(req_id, int) else None
        if frame.get("success") is not False:
            return
        what = request or {"method": frame.get("method")}
        if what.get("method") == "unsubscribe":
            return  # unsubscribing a book that Kraken already dropped is harmless
        entry = {"request": what, "error": frame.get("error"), "time": self._clock()}
        self.rejected = [*self.rejected[-9:], entry]
        log.error("exchange rejected %s: %s", what, frame.get("error"), extra={"request": what})

    def _schedule(self, resync: Resync) -> None:
        if resync.plan.action is ResyncAction.RECONNECT:
            self.request_reconnect(f"{resync.symbol}: fresh snapshots keep failing ({resync.reason})")
            return
        ws = self._ws
        running = self._resyncs.get(resync.symbol)
        if ws is None or (running is not None and not running.done()):
            return
        self._resyncs[resync.symbol] = asyncio.get_running_loop().create_task(
            self._resubscribe(ws, resync.symbol, resync.plan.delay), name=f"resync-{resync.symbol}"
        )

    async def _resubscribe(self, ws: ClientConnection, symbol: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        depth = self.state.depth
        with contextlib.suppress(WebSocketException):
            await self._send(
                ws,
                subscribe_request(
                    WsChannel.BOOK, [symbol], next(self._req_ids), depth=depth, method="unsubscribe"
                ),
            )
            await self._send(
                ws, subscribe_request(WsChannel.BOOK, [symbol], next(self._req_ids), depth=depth)
            )
            self.resubscribes += 1

    async def _send(self, ws: ClientConnection, request: dict[str, Any]) -> None:
        if request["method"] in ("subscribe", "unsubscribe"):
            # Kept to name the request when Kraken rejects it (a rejection may carry only the req_id).
            self._requests[request["req_id"]] = {"method": request["method"], **request["params"]}
            if len(self._requests) > 1000:  # answers that never came: keep the map bounded
                self._requests.pop(next(iter(self._requests)))
        await ws.send(json.dumps(request))

    # -- reading -----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = self._clock()

        def age(moment: float | None) -> float | None:
            return None if moment is None else round(now - moment, 3)

        return {
            "url": self.url,
            "connected": self.connected,
            "connected_for": age(self.connected_since),
            "disconnected_for": None if self.connected else age(self.disconnected_since),
            "system_status": self.system_status,
            "attempts": self.attempts,
            "connects": self.connects,
            "reconnects": self.reconnects,
            "resubscribes": self.resubscribes,
            "recovery_resyncs": self.recovery_resyncs,
            "failures_in_a_row": self.failures_in_a_row,
            "next_attempt_in": None if self.next_attempt_at is None else round(self.next_attempt_at - now, 3),
            "attempts_in_window": self.budget.used(now),
            "attempt_budget": {"limit": self.budget.limit, "window": self.budget.window},
            "last_error": self.last_error,
            "last_message_age": age(self.last_message_at),
            "last_heartbeat_age": age(self.last_heartbeat_at),
            "rejected": self.rejected,
        }
