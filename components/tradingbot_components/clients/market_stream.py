"""The market-data `/stream` as the trading services read it: top-of-book `Quote`s per pair, pushed to a
callback as they arrive, with the connection kept up (reconnect after a short backoff; the component is local).

A `resync` notice makes the pair's quote invalid until the next good book arrives, so nobody trades on a
book market data no longer vouches for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tradingbot_components.market_data.symbols import ws_symbol
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask of one pair from a checksum-verified book (prices exact, as Kraken sent them)."""

    pair: str  # WS v2 spelling (BTC/USD), whichever spelling trading.pairs uses
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    received_at: float  # time.time() when this process read it

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid


def parse_quote(message: dict[str, Any], received_at: float) -> Quote | None:
    """A `book` snapshot/update of a valid book as a `Quote`; None for anything else."""
    if message.get("channel") != "book" or message.get("type") not in ("snapshot", "update"):
        return None
    if message.get("state") != "in_sync":  # market data's BookState.IN_SYNC: every checksum matched
        return None
    best_bid, best_ask = message.get("best_bid"), message.get("best_ask")
    if not best_bid or not best_ask:
        return None
    return Quote(
        pair=ws_symbol(str(message.get("symbol") or message["pair"])),
        bid=Decimal(best_bid[0]),
        bid_qty=Decimal(best_bid[1]),
        ask=Decimal(best_ask[0]),
        ask_qty=Decimal(best_ask[1]),
        received_at=received_at,
    )


class MarketStream:
    """Subscribes to `book` for `pairs` on `url` and calls `on_quote` for every valid top of book, and
    `on_invalid(pair, reason)` when market data says a pair's book cannot be trusted."""

    def __init__(
        self,
        url: str,
        pairs: Sequence[str],
        on_quote: Callable[[Quote], None],
        *,
        on_invalid: Callable[[str, str], None] | None = None,
        retry_delay: float = 0.5,
        name: str = "market-stream",
    ) -> None:
        self.url = url
        self.pairs = list(pairs)
        self.name = name
        self._on_quote = on_quote
        self._on_invalid = on_invalid or (lambda _pair, _reason: None)
        self._retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.quotes: dict[str, Quote] = {}
        self.messages = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "connected": self.connected,
            "messages": self.messages,
            "last_error": self.last_error,
            "quotes": {
                pair: {"bid": str(q.bid), "ask": str(q.ask), "age": round(time.time() - q.received_at, 3)}
                for pair, q in self.quotes.items()
            },
        }

    async def _run(self) -> None:
        while True:
            try:
                async with connect(self.url, open_timeout=5, close_timeout=1, max_size=2**22) as ws:
                    await ws.send(json.dumps({"subscribe": ["book"], "pairs": self.pairs}))
                    self.connected = True
                    self.last_error = None
                    async for raw in ws:
                        self._handle(raw)
                    self.last_error = "market data closed the stream"
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.last_error = describe_error(exc)
            except Exception as exc:
                self.last_error = describe_error(exc)
                log.exception("%s: unexpected error", self.name)
            finally:
                if self.connected:
                    self.connected = False
                    for pair in list(self.quotes):
                        self._invalidate(pair, "market data stream lost")
            await asyncio.sleep(self._retry_delay)

    def _handle(self, raw: str | bytes) -> None:
        now = time.time()
        self.messages += 1
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "error":
            self.last_error = str(message.get("message"))
            log.error("%s: market data refused the subscription: %s", self.name, self.last_error)
            return
        if kind == "resync":
            self._invalidate(ws_symbol(str(message.get("pair"))), str(message.get("reason") or "resync"))
            return
        quote = parse_quote(message, now)
        if quote is not None:
            self.quotes[quote.pair] = quote
            self._on_quote(quote)

    def _invalidate(self, pair: str, reason: str) -> None:
        if self.quotes.pop(pair, None) is not None:
            with contextlib.suppress(Exception):
                self._on_invalid(pair, reason)
