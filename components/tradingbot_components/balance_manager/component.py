"""The balance-manager component: the bot's single source of truth for balances, served on `GET /balances`
in Kraken's `BalanceEx` asset names.

Start (Services phase): clients → asset names and pair fees (`Assets`, `AssetPairs` for `trading.pairs`,
through the gateway) → first `BalanceEx` reconcile → private WS v2 feed (`balances` + `executions` with the
open-order snapshot); every (re)sync of the feed triggers another reconcile, and one runs every
`reconcile_interval`. Ready = reconciled at least once and the balances no older than `max_age` (always
true while the feed is synced). A WS/REST disagreement beyond dust is read again, then counted, logged,
alerted (the `balance-drift` health entry turns Degraded) and replaced by REST's figures; never a crash.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from tradingbot_components.app import ComponentApp
from tradingbot_components.balance_manager.assets import AssetNames
from tradingbot_components.balance_manager.drift import Figure, Mismatch, describe_drift, drift_health
from tradingbot_components.balance_manager.freshness import balance_age, balances_health
from tradingbot_components.balance_manager.health import feed_health, snapshots_health
from tradingbot_components.balance_manager.holds import PairDirectory
from tradingbot_components.balance_manager.ledger import BadBalances, BalanceLedger, ReconcileOutcome
from tradingbot_components.balance_manager.metrics import BalanceMetrics
from tradingbot_components.balance_manager.reconciler import FeedState, Reconciler
from tradingbot_components.balance_manager.settings import (
    BalanceManagerSettings,
    read_balance_manager_settings,
)
from tradingbot_components.balance_manager.snapshots import SnapshotWriter
from tradingbot_components.clients import GatewayClient, GatewayReply, StorageClient, TokenClient
from tradingbot_components.config.process_settings import settings_or_reject
from tradingbot_components.kraken.private_ws import PrivateChannel, PrivateFeed
from tradingbot_components.market_data.symbols import rest_altname
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase
from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BALANCES_CHECK = "balances"
FEED_CHECK = "balances-feed"
DRIFT_CHECK = "balance-drift"
SNAPSHOTS_CHECK = "balance-snapshots"
CHANNELS = (
    PrivateChannel("balances"),
    PrivateChannel("executions", {"snap_orders": True, "snap_trades": False}),
)


class BalanceManagerService:
    def __init__(
        self, app: ComponentApp, settings: BalanceManagerSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._app = app
        self.settings = settings
        self._clock = clock
        self.names = AssetNames()
        self.pairs = PairDirectory(self.names)
        self.ledger = BalanceLedger(self.names, self.pairs, dust=settings.dust)
        self.metrics = BalanceMetrics(
            app.registry,
            lambda: self.ledger if self.ledger.reconciled_at is not None else None,
            self.age,
            lambda: self.feed_synced,
        )
        self.gateway: GatewayClient | None = None
        self.tokens: TokenClient | None = None
        self.storage: StorageClient | None = None
        self.reconciler: Reconciler | None = None
        self.writer: SnapshotWriter | None = None
        self.feed: PrivateFeed | None = None
        # Ours, not `feed.synced`: the feed sets that only after `on_synced` returns.
        self.feed_synced = False
        self.feed_lost_at: float | None = None
        self.reference_error: str | None = None  # while reference data is still awaited
        self.reference_problems: list[str] = []  # reference data given up on
        self.compared: tuple[Mismatch, ...] | None = None  # what the latest live comparison confirmed
        self.last_drift: tuple[Mismatch, ...] = ()  # the latest drift ever confirmed
        self.last_drift_at: float | None = None
        self.drift_events = 0
        self.bad_frames = 0
        self._task: asyncio.Task[None] | None = None
        self._pushed: dict[str, tuple[HealthStatus, str | None]] = {}

    # -- start and stop ----------------------------------------------------------------------------

    async def start(self) -> None:
        endpoints = self._app.config.config.endpoints
        self.gateway = GatewayClient(endpoints.gateway)
        self.tokens = TokenClient(endpoints.auth)
        self.storage = StorageClient(endpoints.storage)
        for iface, client in (
            (GatewayClient, self.gateway),
            (TokenClient, self.tokens),
            (StorageClient, self.storage),
        ):
            await client.start()
            self._app.container.register_instance(iface, client)
        self.reconciler = Reconciler(
            self.gateway,
            self.ledger,
            interval=self.settings.reconcile_interval,
            confirm_delay=self.settings.confirm_delay,
            feed_state=self._feed_state,
            on_outcome=self._reconciled,
            on_failure=lambda _error: self.refresh_health(),
        )
        self.writer = SnapshotWriter(
            self.storage.add_balance_snapshot,
            self.ledger.snapshot,
            interval=self.settings.snapshot_interval,
            on_result=self._snapshot_result,
        )
        self.writer.start()
        self._task = asyncio.create_task(self._main(), name="balance-manager")
        log.info(
            "balances from %s (WS) reconciled via %s every %gs",
            endpoints.exchange_ws,
            endpoints.gateway,
            self.settings.reconcile_interval,
            extra={"settings": self.settings.to_dict()},
        )
        self.refresh_health()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self.feed is not None:
            await self.feed.stop()
        if self.writer is not None:
            await self.writer.stop()
        for client in (self.gateway, self.tokens, self.storage):
            if client is not None:
                await client.close()

    async def _main(self) -> None:
        await self._load_reference()
        assert self.reconciler is not None
        await self.reconciler.run()

    async def _load_reference(self) -> None:
        """Asset names and decimals (`Assets`) and the configured pairs' assets and fees (`AssetPairs`).

        Retried while the gateway cannot answer; a refusal from Kraken itself (an unknown pair) or an
        unreadable result only costs precision (names then resolve from BalanceEx keys, fees default), so
        the balances go on without that part rather than never becoming ready."""
        assert self.gateway is not None
        gateway = self.gateway
        pairs = ",".join(rest_altname(p) for p in self._app.config.config.trading.pairs)
        wanted: dict[str, tuple[Callable[[], Awaitable[GatewayReply]], Callable[[Any], None]]] = {
            "Assets": (lambda: gateway.public("Assets"), self.names.learn_assets),
            "AssetPairs": (lambda: gateway.public("AssetPairs", pair=pairs), self.pairs.learn),
        }
        attempt = 0
        while wanted:
            for method, (call, learn) in list(wanted.items()):
                reply = await call()
                if not reply.ok and _transient(reply):
                    continue
                wanted.pop(method)
                try:
                    if not reply.ok:
                        raise ValueError(reply.describe())
                    learn(reply.result or {})
                except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                    self.reference_problems.append(f"{method}: {exc}")
                    log.error("%s unusable, continuing without it: %s", method, exc)
            if not wanted:
                break
            attempt += 1
            self.reference_error = f"waiting for {', '.join(wanted)} through the gateway"
            log.warning("%s (attempt %d)", self.reference_error, attempt)
            self.refresh_health()
            await asyncio.sleep(backoff_delay(attempt, base=0.5, cap=10.0))
        self.reference_error = None

    def _start_feed(self) -> None:
        assert self.tokens is not None
        self.feed = PrivateFeed(
            self._app.config.config.endpoints.exchange_ws,
            self.tokens.token,
            CHANNELS,
            self.on_message,
            on_synced=self._synced,
            on_lost=self._lost,
            name="balance-manager-feed",
        )
        self.feed.start()

    # -- the WS feed -------------------------------------------------------------------------------

    def on_message(self, message: Mapping[str, Any]) -> None:
        channel = str(message.get("channel"))
        now = self._clock()
        self.metrics.ws_messages.labels(channel).inc()
        if channel == "balances":
            try:
                changed = self.ledger.apply_balances(message, now)
            except BadBalances as exc:
                # The WS view cannot be trusted past an unreadable frame: start over from a snapshot.
                self.bad_frames += 1
                log.error("unreadable balances frame: %s", exc)
                if self.feed is not None:
                    self.feed.drop(f"unreadable balances frame: {exc}")
                return
            if changed and self.writer is not None:
                self.writer.request()
        elif channel == "executions":
            self.ledger.apply_executions(message, now)

    async def _synced(self) -> None:
        self.feed_synced, self.feed_lost_at = True, None
        log.info("balances feed synced; reconciling with REST")
        if self.reconciler is not None:
            self.reconciler.trigger()
        self.refresh_health()

    def _lost(self, reason: str) -> None:
        self.feed_synced, self.feed_lost_at = False, self._clock()
        self.refresh_health()

    def _feed_state(self) -> FeedState:
        feed = self.feed
        return FeedState(False, 0) if feed is None else FeedState(self.feed_synced, feed.connects)

    # -- reconcile outcomes ------------------------------------------------------------------------

    def _reconciled(self, outcome: ReconcileOutcome) -> None:
        self.metrics.reconciled(outcome)
        first = self.feed is None
        if outcome.suspect:
            log.info(
                "balances differ from REST, reading again in %gs: %s",
                self.settings.confirm_delay,
                describe_drift(outcome.suspect),
            )
        if outcome.compared and not outcome.suspect:
            self.compared = outcome.drift
            if outcome.drift:
                self.last_drift, self.last_drift_at = outcome.drift, outcome.at
                self.drift_events += 1
                self._report_drift(outcome.drift)
        if self.writer is not None:
            self.writer.request(urgent=True)
        if first:
            log.info(
                "first reconcile: %d asset(s) from BalanceEx; starting the private feed",
                len(self.ledger.totals),
                extra={"assets": sorted(self.ledger.totals)},
            )
            self._start_feed()
        self.refresh_health()

    def _report_drift(self, drift: tuple[Mismatch, ...]) -> None:
        totals = [m for m in drift if m.figure is Figure.TOTAL]
        holds = [m for m in drift if m.figure is Figure.HELD]
        if totals:
            log.warning(
                "balance drift beyond dust %s (confirmed by a second read; REST adopted): %s",
                self.settings.dust,
                describe_drift(totals),
                extra={"drift": [m.to_dict() for m in totals]},
            )
        if holds:
            # What open orders hold is computed here; a difference means Kraken holds by another rule
            # (fee tier, order kind), so REST's figure anchors the holds from now on.
            log.info("holds corrected to BalanceEx.hold_trade: %s", describe_drift(holds))

    # -- health ------------------------------------------------------------------------------------

    def age(self) -> float | None:
        return balance_age(
            self._clock(),
            reconciled_at=self.ledger.reconciled_at,
            feed_synced=self.feed_synced,
            feed_lost_at=self.feed_lost_at,
        )

    def _balances_result(self) -> CheckResult:
        error = self.reference_error or (self.reconciler.last_error if self.reconciler else None)
        return balances_health(
            self._clock(),
            reconciled_at=self.ledger.reconciled_at,
            feed_synced=self.feed_synced,
            feed_lost_at=self.feed_lost_at,
            max_age=self.settings.max_age,
            last_error=error,
        )

    async def check_balances(self) -> CheckResult:
        return self._balances_result()

    def _feed_result(self) -> CheckResult:
        feed = self.feed
        if feed is None:
            return CheckResult(HealthStatus.UNKNOWN, "starts after the first REST reconcile")
        return feed_health(
            synced=self.feed_synced,
            connected=feed.connected,
            connects=feed.connects,
            last_error=feed.last_error,
            url=feed.url,
        )

    def _snapshots_result(self) -> CheckResult:
        writer = self.writer
        if writer is None:
            return CheckResult(HealthStatus.HEALTHY)
        return snapshots_health(writer.failures_in_a_row, writer.last_error)

    def refresh_health(self) -> None:
        for name, result in (
            (BALANCES_CHECK, self._balances_result()),
            (FEED_CHECK, self._feed_result()),
            (DRIFT_CHECK, drift_health(self.compared, self.settings.dust)),
            (SNAPSHOTS_CHECK, self._snapshots_result()),
        ):
            pushed = (result.status, result.message)
            # `balances` is also pulled every second (its age moves with the clock); pushing it too makes
            # readiness follow a reconcile or a lost feed at once.
            if name != BALANCES_CHECK and self._pushed.get(name) == pushed:
                continue
            self._pushed[name] = pushed
            self._app.monitor.update_component_status(
                name, result.status, result.details, message=result.message
            )

    def _snapshot_result(self, ok: bool) -> None:
        self.metrics.snapshots.labels("stored" if ok else "failed").inc()
        self.refresh_health()

    # -- serving -----------------------------------------------------------------------------------

    async def balances(self, request: web.Request) -> web.Response:
        if self.ledger.reconciled_at is None:
            why = self._balances_result().message
            return web.json_response({"error": why}, status=503)
        return web.json_response(self.ledger.view().to_dict())

    def status(self) -> dict[str, Any]:
        reconciler, outcome = self.reconciler, self.reconciler.last_outcome if self.reconciler else None
        age = self.age()
        return {
            "reconciled_at": self.ledger.reconciled_at,
            "updated_at": self.ledger.updated_at,
            "source": str(self.ledger.source),
            "age": None if age is None else round(age, 3),
            "feed": None if self.feed is None else self.feed.status(),
            "feed_lost_at": self.feed_lost_at,
            "reconcile": {
                "reads": 0 if reconciler is None else reconciler.reads,
                "failures_in_a_row": 0 if reconciler is None else reconciler.failures_in_a_row,
                "last_error": self.reference_error or (reconciler.last_error if reconciler else None),
                "last": None if outcome is None else outcome.to_dict(),
            },
            "drift": {
                "dust": format(self.settings.dust, "f"),
                "now": None if self.compared is None else [m.to_dict() for m in self.compared],
                "events": self.drift_events,
                "last": [m.to_dict() for m in self.last_drift],
                "last_at": self.last_drift_at,
            },
            "open_orders": len(self.ledger.orders.orders),
            "unsettled_fills": len(self.ledger.orders.unsettled),
            "unreadable_executions": self.ledger.orders.unreadable,
            "bad_balance_frames": self.bad_frames,
            "reference_problems": list(self.reference_problems),
            "unresolved_assets": sorted(self.names.unresolved),
            "assumed_pairs": sorted(self.pairs.assumed),
            "snapshots": None if self.writer is None else self.writer.status(),
            "settings": self.settings.to_dict(),
        }


def _transient(reply: GatewayReply) -> bool:
    """Worth asking again: the gateway or the exchange could not answer (as opposed to Kraken refusing)."""
    return reply.status != 200 or reply.not_sent or reply.uncertain


def build(app: ComponentApp) -> None:
    settings = settings_or_reject(read_balance_manager_settings, app.environ)
    service = BalanceManagerService(app, settings)
    app.container.register_instance(BalanceManagerService, service)
    app.http.app.router.add_get("/balances", service.balances)
    app.sequence.register_step("balance-manager", Phase.SERVICES, service.start, shutdown=service.stop)
    app.monitor.register_check(BALANCES_CHECK, service.check_balances, critical=True, interval=1.0)
    app.monitor.register_component(FEED_CHECK, critical=False)
    app.monitor.register_component(DRIFT_CHECK, critical=False)
    app.monitor.register_component(SNAPSHOTS_CHECK, critical=False)
    app.add_status("balance_manager", service.status)
