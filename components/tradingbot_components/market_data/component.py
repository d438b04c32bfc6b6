"""The market-data component: one WebSocket v2 connection to the exchange for `trading.pairs`, verified
books, tickers and trades, served to other components on `/stream`.

Ready = connected and every configured pair's book checksum-verified and in sync; the `exchange-feed`
health component is pushed on every change, and `/healthz` carries a `market_data` section per pair.
A checksum failure is resynced at once by the exchange client; a book that stays without a valid snapshot
(its resubscribe got no answer) turns the `books` entry Unhealthy, and its recovery handler resubscribes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from tradingbot_components.app import ComponentApp
from tradingbot_components.config.process_settings import settings_or_reject
from tradingbot_components.market_data.exchange import ExchangeFeed
from tradingbot_components.market_data.market_state import MarketState
from tradingbot_components.market_data.metrics import Sources, register
from tradingbot_components.market_data.settings import MarketDataSettings, read_market_data_settings
from tradingbot_components.market_data.stream import StreamHub
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase

log = logging.getLogger(__name__)

HEALTH_COMPONENT = "exchange-feed"
BOOKS_CHECK = "books"
BOOK_DEPTH = 10


def readiness(feed: ExchangeFeed | None, state: MarketState | None) -> tuple[HealthStatus, str | None]:
    """Healthy only while connected with every book in sync; Unknown until the first attempt ends;
    otherwise Unhealthy, saying why (either way not ready)."""
    if feed is None or state is None:
        return HealthStatus.UNKNOWN, "not started"
    if not feed.connected and feed.last_error is None:
        return HealthStatus.UNKNOWN, f"connecting to {feed.url}"
    if not feed.connected:
        detail = f": {feed.last_error}" if feed.last_error else ""
        return HealthStatus.UNHEALTHY, f"not connected to {feed.url}{detail}"
    behind = state.not_in_sync()
    if behind:
        listed = ", ".join(f"{f.pair} {f.state.value}" for f in behind)
        return HealthStatus.UNHEALTHY, f"books not in sync: {listed}"
    return HealthStatus.HEALTHY, None


class MarketDataService:
    """Builds the state and the exchange client from the config once it is loaded; owns the hub."""

    def __init__(
        self,
        app: ComponentApp,
        settings: MarketDataSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self.settings = settings or MarketDataSettings()
        self._clock = clock
        self.hub = StreamHub()
        self.sources = Sources(self.hub)
        self._pushed: tuple[HealthStatus, str | None] | None = None

    @property
    def state(self) -> MarketState | None:
        return self.sources.state

    @property
    def feed(self) -> ExchangeFeed | None:
        return self.sources.feed

    async def start(self) -> None:
        config = self._app.config.config
        state = MarketState(
            config.trading.pairs,
            depth=BOOK_DEPTH,
            sink=self.hub,
            now=self._clock,
            on_change=self.refresh_health,
        )
        feed = ExchangeFeed(
            config.endpoints.exchange_ws,
            state,
            rest_url=config.endpoints.exchange_rest,
            clock=self._clock,
            on_change=self.refresh_health,
        )
        self.sources.state, self.sources.feed = state, feed
        self.hub.attach(state.pairs, state.snapshot_messages)
        log.info(
            "market data for %s from %s",
            ", ".join(state.pairs),
            feed.url,
            extra={"pairs": state.pairs, "symbols": state.symbols, "url": feed.url},
        )
        feed.start()
        self.refresh_health()

    async def stop(self) -> None:
        await self.hub.close_all()
        if self.feed is not None:
            await self.feed.stop()

    def refresh_health(self) -> None:
        status, message = readiness(self.feed, self.state)
        if (status, message) == self._pushed:
            return
        self._pushed = (status, message)
        self._app.monitor.update_component_status(HEALTH_COMPONENT, status, message=message)

    async def check_books(self) -> CheckResult:
        """Unhealthy while connected with a book stalled for `stall_after` seconds."""
        state, feed = self.state, self.feed
        if state is None or feed is None or not feed.connected:
            return CheckResult(HealthStatus.HEALTHY, "not connected: reconnecting resubscribes every book")
        stalled = state.stalled(self.settings.stall_after)
        if not stalled:
            return CheckResult(HealthStatus.HEALTHY)
        listed = ", ".join(f"{f.pair} {f.state.value}" for f in stalled)
        return CheckResult(
            HealthStatus.UNHEALTHY, f"no valid book for {self.settings.stall_after:g}s or more: {listed}"
        )

    def resync_stalled(self) -> None:
        """The recovery of `books`: resubscribe every stalled book for a fresh snapshot."""
        state, feed = self.state, self.feed
        if state is None or feed is None:
            return
        sent = feed.resync([f.symbol for f in state.stalled(self.settings.stall_after)])
        if sent:
            log.warning("resyncing stalled book(s): %s", ", ".join(sent), extra={"symbols": sent})

    def status(self) -> dict[str, Any]:
        state, feed = self.state, self.feed
        if state is None or feed is None:
            return {"started": False}
        now = self._clock()
        return {
            "ready": readiness(feed, state)[0] is HealthStatus.HEALTHY,
            "connection": feed.status(),
            "pairs": {f.pair: f.status(now) for f in state.feeds.values()},
            "last_gap": None if state.last_gap is None else state.last_gap.to_dict(),
            "bad_frames": state.bad_frames,
            "stream": self.hub.status(),
        }


def build(app: ComponentApp) -> None:
    settings = settings_or_reject(read_market_data_settings, app.environ)
    service = MarketDataService(app, settings)
    app.container.register_instance(MarketDataService, service)
    service.hub.add_to(app.http.app)
    register(app.registry, service.sources, time.time)
    app.monitor.register_component(HEALTH_COMPONENT, critical=True)
    # Not critical: exchange-feed already makes the process unready while a book is out of sync.
    app.monitor.register_check(BOOKS_CHECK, service.check_books, critical=False, interval=1.0)
    app.monitor.register_recovery(
        BOOKS_CHECK, service.resync_stalled, max_attempts=5, backoff_base=settings.stall_after
    )
    app.sequence.register_step("exchange-feed", Phase.NETWORK, service.start, shutdown=service.stop)
    app.add_status("market_data", service.status)
