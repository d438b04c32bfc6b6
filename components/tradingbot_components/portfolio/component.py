"""The portfolio component: the account's positions per pair built from its fills (the private WS v2
`executions` channel), valued at market-data mid prices, with realized and unrealized P&L and exposure in
each pair's quote currency, served on `GET /positions`.

Start (Services phase): clients → rebuild the positions from every fill in storage → market-data stream →
executions feed (with Kraken's snapshot of recent fills, so a reconnect or a restart replays what may have
been missed; ids already applied are ignored). Every new fill is stored before it is applied.
Ready = rebuilt from storage, storage reachable, executions feed synced (its snapshot recorded). A missing
quote is not a reason to be unready: that pair's market price and unrealized P&L are null, and the
non-critical `valuation` health entry says which pairs lack one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tradingbot_components.app import ComponentApp
from tradingbot_components.clients import StorageClient, TokenClient
from tradingbot_components.clients.market_stream import MarketStream
from tradingbot_components.clients.portfolio import PortfolioView
from tradingbot_components.kraken.private_ws import PrivateChannel, PrivateFeed
from tradingbot_components.portfolio.fills import fills_of
from tradingbot_components.portfolio.health import feed_health, positions_health, valuation_health
from tradingbot_components.portfolio.metrics import Sources, register
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.portfolio.recorder import FillRecorder
from tradingbot_components.portfolio.valuation import unpriced, value_positions
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase
from tradingbot_components.storage.models import Fill

log = logging.getLogger(__name__)

POSITIONS_CHECK = "positions"
STORAGE_CHECK = "storage"
FEED_CHECK = "executions-feed"
VALUATION_CHECK = "valuation"
# A reconnect replays the recent fills (Kraken: the last 50), so nothing missed during a short outage is lost.
EXECUTIONS = PrivateChannel("executions", {"snap_orders": False, "snap_trades": True})
SNAPSHOT_FILLS = 50


class PortfolioService:
    def __init__(self, app: ComponentApp) -> None:
        self._app = app
        self.storage: StorageClient | None = None
        self.tokens: TokenClient | None = None
        self.book: PositionBook | None = None
        self.recorder: FillRecorder | None = None
        self.feed: PrivateFeed | None = None
        self.stream: MarketStream | None = None
        self.sources = Sources(view=self.view, feed_synced=lambda: self.feed is not None and self.feed.synced)
        self.rebuilt_from: int | None = None  # fills read from storage by the rebuild
        self.unreadable = 0  # executions entries that claimed a fill but could not be read
        self.last_unreadable: str | None = None
        self._sync_mark: int | None = None  # fills submitted up to the end of the current snapshot
        self.possible_gap: str | None = None  # a full snapshot that does not reach back to fills we had

    # -- start and stop ----------------------------------------------------------------------------

    async def start_clients(self) -> None:
        endpoints = self._app.config.config.endpoints
        self.storage, self.tokens = StorageClient(endpoints.storage), TokenClient(endpoints.auth)
        for iface, client in ((StorageClient, self.storage), (TokenClient, self.tokens)):
            await client.start()
            self._app.container.register_instance(iface, client)

    async def stop_clients(self) -> None:
        for client in (self.storage, self.tokens):
            if client is not None:
                await client.close()

    async def rebuild(self) -> None:
        """The positions from every stored fill, oldest first (retried by the startup sequence)."""
        assert self.storage is not None
        stored = await self.storage.all_fills()
        book = PositionBook.replay(stored)
        self.book, self.rebuilt_from = book, len(stored)
        self.sources.book, self.sources.rebuilt_fills = book, book.fills
        log.info(
            "positions rebuilt from %d stored fill(s): %s",
            len(stored),
            {pair: str(h.quantity) for pair, h in book.holdings.items()} or "none",
            extra={"fills": len(stored), "realized_pnl": str(book.realized_pnl)},
        )
        self._refresh_positions()

    async def start_stream(self) -> None:
        config = self._app.config.config
        self.stream = MarketStream(
            config.endpoints.market_data,
            config.trading.pairs,
            lambda _quote: None,  # read when valuing: the stream keeps each pair's latest valid quote
            name="portfolio-market-stream",
        )
        self.stream.start()

    async def stop_stream(self) -> None:
        if self.stream is not None:
            await self.stream.stop()

    async def start_feed(self) -> None:
        assert self.storage is not None and self.tokens is not None and self.book is not None
        self.recorder = FillRecorder(self.storage, self.book, on_progress=self._recorded)
        self.sources.recorder = self.recorder
        self.recorder.start()
        self.feed = PrivateFeed(
            self._app.config.config.endpoints.exchange_ws,
            self.tokens.token,
            [EXECUTIONS],
            self.on_executions,
            on_synced=self._synced,
            on_lost=self._lost,
            name="portfolio-executions",
        )
        self.feed.start()

    async def stop_feed(self) -> None:
        if self.feed is not None:
            await self.feed.stop()
        if self.recorder is not None:
            await self.recorder.stop()

    # -- the executions feed -----------------------------------------------------------------------

    def on_executions(self, message: Mapping[str, Any]) -> None:
        found = fills_of(message)
        for problem in found.unreadable:
            self.unreadable += 1
            self.last_unreadable = problem
            log.error("executions entry skipped: %s", problem)
        if found.snapshot and self.book is not None:
            self._check_gap(found.fills, self.book)
        if self.recorder is not None:
            self.recorder.submit(found.fills)

    def _check_gap(self, replayed: list[Fill], book: PositionBook) -> None:
        """Kraken replays at most its last 50 fills: a full replay none of which we had means more than that
        happened while we were away, and the older ones are not in these positions."""
        if (
            len(replayed) >= SNAPSHOT_FILLS
            and book.fills
            and not any(book.knows(f.fill_id) for f in replayed)
        ):
            self.possible_gap = (
                f"the executions snapshot ({len(replayed)} fills, from {replayed[0].executed_at.isoformat()}) "
                "does not reach back to the fills already applied: fills before it may be missing"
            )
            log.error("%s", self.possible_gap)
            self._refresh_positions()

    async def _synced(self) -> None:
        # The snapshot's fills are queued by now: in sync once the recorder has got through them.
        self._sync_mark = self.recorder.submitted if self.recorder is not None else 0
        self._refresh_feed()

    def _lost(self, reason: str) -> None:
        self._sync_mark = None
        self._refresh_feed(reason)

    def _recorded(self) -> None:
        self._refresh_feed()
        self._refresh_positions()

    # -- health ------------------------------------------------------------------------------------

    def _push(self, name: str, result: CheckResult) -> None:
        self._app.monitor.update_component_status(name, result.status, result.details, message=result.message)

    def _refresh_feed(self, lost: str | None = None) -> None:
        self._push(FEED_CHECK, self._feed_result(lost))

    def _feed_result(self, lost: str | None = None) -> CheckResult:
        feed, recorder = self.feed, self.recorder
        if feed is None or recorder is None:
            return CheckResult(HealthStatus.UNKNOWN, "not started")
        return feed_health(
            connected=feed.connected,
            # The mark is set when the snapshot has arrived, a moment before the feed calls itself synced.
            synced=feed.synced or self._sync_mark is not None,
            recorded=recorder.processed,
            sync_mark=self._sync_mark,
            waiting_for_storage=recorder.waiting_for_storage,
            last_error=lost or feed.last_error,
            url=feed.url,
        )

    async def check_feed(self) -> CheckResult:
        return self._feed_result()

    def _refresh_positions(self) -> None:
        recorder = self.recorder
        self._push(
            POSITIONS_CHECK,
            positions_health(
                rebuilt_from=self.rebuilt_from,
                fills=0 if self.book is None else self.book.fills,
                refused=0 if recorder is None else recorder.refused_count,
                unvalued_fees={} if self.book is None else self.book.unvalued_fees,
                possible_gap=self.possible_gap,
            ),
        )

    async def check_storage(self) -> CheckResult:
        if self.storage is None:
            return CheckResult(HealthStatus.UNKNOWN, "not started")
        ready, why = await self.storage.ready()
        return CheckResult(HealthStatus.HEALTHY) if ready else CheckResult(HealthStatus.UNHEALTHY, why)

    async def check_valuation(self) -> CheckResult:
        view = self.view()
        if view is None:
            return CheckResult(HealthStatus.UNKNOWN, "positions not rebuilt yet")
        stream = self.stream
        return valuation_health(
            unpriced(view),
            connected=stream is not None and stream.connected,
            started=stream is not None and stream.messages > 0,
        )

    # -- serving -----------------------------------------------------------------------------------

    def view(self) -> PortfolioView | None:
        """The positions valued now; None until they are rebuilt from storage."""
        book = self.book
        if book is None:
            return None
        quotes = self.stream.quotes if self.stream is not None else {}
        return value_positions(
            book.holdings,
            {pair: quote.mid for pair, quote in quotes.items()},
            pairs=self._app.config.config.trading.pairs,
            fills=book.fills,
        )

    async def positions(self, request: web.Request) -> web.Response:
        view = self.view()
        if view is None:
            return web.json_response(
                {"error": "NotReady", "message": "positions are not rebuilt from storage yet"}, status=503
            )
        return web.json_response(view.to_dict())

    def status(self) -> dict[str, Any]:
        book, recorder, view = self.book, self.recorder, self.view()
        if book is None or view is None:
            return {"rebuilt": False}
        missing = unpriced(view)
        return {
            "rebuilt": True,
            "rebuilt_from_fills": self.rebuilt_from,
            "fills": book.fills,
            "last_fill_at": None if book.last_fill_at is None else book.last_fill_at.isoformat(),
            "realized_pnl": str(view.realized_pnl),
            "unpriced_pairs": missing,
            "valuation": (
                "every pair has a market price"
                if not missing
                else f"no market quote for {', '.join(missing)}: market_price and unrealized_pnl are null"
            ),
            "unvalued_fees": {asset: str(fee) for asset, fee in book.unvalued_fees.items()},
            "recorder": None
            if recorder is None
            else {
                "applied": recorder.applied,
                "duplicates_ignored": recorder.duplicates,
                "already_stored": recorder.already_stored,
                "pending": recorder.pending,
                "waiting_for_storage": recorder.waiting_for_storage,
                "storage_failures": recorder.storage_failures,
                "refused": recorder.refused_count,
                "recently_refused": [r.to_dict() for r in recorder.refused],
                "last_error": recorder.last_error,
            },
            "possible_gap": self.possible_gap,
            "unreadable_entries": self.unreadable,
            "last_unreadable": self.last_unreadable,
            "executions_feed": None if self.feed is None else self.feed.status(),
            "market_stream": None if self.stream is None else self.stream.status(),
        }


def build(app: ComponentApp) -> None:
    service = PortfolioService(app)
    app.container.register_instance(PortfolioService, service)
    app.http.app.router.add_get("/positions", service.positions)
    register(app.registry, service.sources)
    services = Phase.SERVICES
    step = app.sequence.register_step
    step("clients", services, service.start_clients, shutdown=service.stop_clients)
    step("rebuild", services, service.rebuild, dependencies=("clients",), retries=5, timeout=120)
    step(
        "market-stream",
        services,
        service.start_stream,
        dependencies=("rebuild",),
        shutdown=service.stop_stream,
    )
    step(
        "executions-feed", services, service.start_feed, dependencies=("rebuild",), shutdown=service.stop_feed
    )
    app.monitor.register_component(POSITIONS_CHECK, critical=True)
    app.monitor.register_check(STORAGE_CHECK, service.check_storage, critical=True, interval=2.0)
    app.monitor.register_check(FEED_CHECK, service.check_feed, critical=True, interval=1.0)
    app.monitor.register_check(VALUATION_CHECK, service.check_valuation, critical=False, interval=1.0)
    app.add_status("portfolio", service.status)
