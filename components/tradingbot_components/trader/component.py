"""The trader component: runs a strategy against market data, balance-manager and portfolio, placing
orders only through the gateway, each with a `cl_ord_id`, recorded before it is sent.

Start (Services phase): clients → pair rules (AssetPairs) → reconcile unfinished orders from storage with
the exchange → holdings from portfolio → strategy → executions feed → market stream → trading. Stop (SIGTERM,
which is also how safe mode and suspend reach it): stop deciding, cancel every open order, disarm the dead
man's switch when nothing is left open. While the gateway is not ready, new orders are held back.
Hot: `trading.profit_target` and `trading.max_position_size` are read for every order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from typing import Any

from aiohttp import web

from tradingbot_components.app import ComponentApp, ComponentArgumentsError
from tradingbot_components.clients import (
    BalanceManagerClient,
    GatewayClient,
    PortfolioClient,
    StorageClient,
    TokenClient,
)
from tradingbot_components.clients.market_stream import MarketStream
from tradingbot_components.config.manager import ConfigManager
from tradingbot_components.config.process_settings import settings_or_reject
from tradingbot_components.kraken.private_ws import PrivateChannel, PrivateFeed
from tradingbot_components.market_data.symbols import rest_altname, ws_symbol
from tradingbot_components.runtime import HealthStatus, Phase
from tradingbot_components.runtime.tasks import cancel_and_wait
from tradingbot_components.storage.models import OrderStatus
from tradingbot_components.strategy.api import Strategy, StrategyContext
from tradingbot_components.strategy.loading import StrategyLoadError, load_strategy
from tradingbot_components.trader.engine import TraderMetrics, TradingEngine, order_to_dict
from tradingbot_components.trader.executor import OrderExecutor
from tradingbot_components.trader.ledger import OrderLedger
from tradingbot_components.trader.settings import (
    TraderSettings,
    limits_of,
    read_trader_settings,
    strategy_path,
)
from tradingbot_components.trading.rules import PairRules, parse_asset_pairs

log = logging.getLogger(__name__)

TRADING_CHECK = "trading"
FEED_CHECK = "executions-feed"
STREAM_CHECK = "market-stream"
GATEWAY_CHECK = "gateway"


def parse_arguments(extra: tuple[str, ...]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tradingbot-component trader", add_help=False, exit_on_error=False)
    parser.add_argument("--strategy", metavar="MODULE:CLASS")
    parser.add_argument("--strategy-param", action="append", default=[], metavar="NAME=VALUE")
    try:
        args, unknown = parser.parse_known_args(list(extra))
    except argparse.ArgumentError as exc:
        raise ComponentArgumentsError(str(exc)) from None
    if unknown:
        raise ComponentArgumentsError(f"unrecognized arguments: {' '.join(unknown)}")
    for item in args.strategy_param:
        if "=" not in item or not item.partition("=")[0]:
            raise ComponentArgumentsError(f"--strategy-param expects NAME=VALUE, got {item!r}")
    return args


class TraderService:
    def __init__(
        self, app: ComponentApp, settings: TraderSettings, strategy: Strategy, params: dict[str, str]
    ) -> None:
        self._app = app
        self.settings = settings
        self.strategy = strategy
        self.params = params
        self.metrics = TraderMetrics(app.registry)
        self.ledger = OrderLedger(keep_finished=int(settings.recent_orders))
        self.engine: TradingEngine | None = None
        self.executor: OrderExecutor | None = None
        self.feed: PrivateFeed | None = None
        self.stream: MarketStream | None = None
        self.rules: dict[str, PairRules] = {}
        self._clients: list[Any] = []
        self._loops: list[asyncio.Task[None]] = []
        self.gateway: GatewayClient | None = None
        self.dead_man_armed_until: float | None = None
        self._changed = asyncio.Event()  # set whenever one of the trader's orders changes

    @property
    def config(self) -> ConfigManager:
        return self._app.config

    # -- start -------------------------------------------------------------------------------------

    async def start_clients(self) -> None:
        endpoints = self.config.config.endpoints
        self.gateway = GatewayClient(endpoints.gateway)
        storage = StorageClient(endpoints.storage)
        balances = BalanceManagerClient(endpoints.balance_manager)
        portfolio = PortfolioClient(endpoints.portfolio)
        tokens = TokenClient(endpoints.auth)
        for iface, client in (
            (GatewayClient, self.gateway),
            (StorageClient, storage),
            (BalanceManagerClient, balances),
            (PortfolioClient, portfolio),
            (TokenClient, tokens),
        ):
            await client.start()
            self._clients.append(client)
            self._app.container.register_instance(iface, client)
        self.executor = OrderExecutor(
            self.gateway,
            storage,
            self.ledger,
            deadline=self.settings.order_deadline,
            on_change=self._order_changed,
            cancel_retry=self.settings.cancel_retry,
        )
        self.engine = TradingEngine(
            self.strategy,
            self.executor,
            self.ledger,
            rules={},
            limits=lambda: limits_of(self.config.config.trading),
            balances=balances,
            portfolio=portfolio,
            metrics=self.metrics,
            balance_refresh=self.settings.balance_refresh,
        )
        self.engine.listeners.append(lambda _order: self._changed.set())

    async def load_rules(self) -> None:
        assert self.gateway is not None and self.engine is not None
        pairs = self.config.config.trading.pairs
        reply = await self.gateway.public("AssetPairs", pair=",".join(rest_altname(p) for p in pairs))
        if not reply.ok or not isinstance(reply.result, dict):
            raise RuntimeError(f"pair rules unavailable: {reply.describe()}")
        found = parse_asset_pairs(reply.result)
        missing = [p for p in pairs if ws_symbol(p) not in found]
        if missing:
            raise RuntimeError(f"AssetPairs did not describe {', '.join(missing)}")
        self.rules = {ws_symbol(p): found[ws_symbol(p)] for p in pairs}
        self.engine.rules = dict(self.rules)

    async def reconcile(self) -> None:
        """Every order storage still calls unfinished is settled with the exchange before anything new."""
        assert self.executor is not None and self.engine is not None
        storage = await self._app.container.resolve(StorageClient)
        unfinished = []
        for status in (OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED):
            unfinished += await storage.list_orders(status=status)
        if unfinished:
            log.info("reconciling %d unfinished order(s) from storage", len(unfinished))
        await self.executor.settle_unfinished(sorted(unfinished, key=lambda o: o.created_at), time.time())
        await self.engine.load_holdings()

    async def start_strategy(self) -> None:
        context = StrategyContext(
            container=self._app.container,
            config=self.config,
            pairs=tuple(self.rules),
            params=self.params,
        )
        await self.strategy.start(context)
        log.info("strategy %s started", self.strategy.name, extra={"strategy": self.strategy.describe()})

    async def start_feeds(self) -> None:
        assert self.engine is not None
        endpoints = self.config.config.endpoints
        tokens = next(c for c in self._clients if isinstance(c, TokenClient))
        self.feed = PrivateFeed(
            endpoints.exchange_ws,
            tokens.token,
            [PrivateChannel("executions", {"snap_orders": True, "snap_trades": False})],
            self.engine.on_executions,
            on_synced=self._feed_synced,
            on_lost=lambda reason: self._push(FEED_CHECK, HealthStatus.UNHEALTHY, reason),
            name="trader-executions",
        )
        self.feed.start()
        self.stream = MarketStream(
            endpoints.market_data,
            self.config.config.trading.pairs,
            self.engine.on_quote,
            name="trader-market-stream",
        )
        self.stream.start()

    async def _feed_synced(self) -> None:
        self._push(FEED_CHECK, HealthStatus.HEALTHY, None)

    async def start_trading(self) -> None:
        assert self.engine is not None
        self.engine.running = True
        self._loops = [
            asyncio.create_task(self._watch_gateway(), name="trader-gateway-watch"),
            asyncio.create_task(self._dead_man(), name="trader-dead-man"),
        ]
        self._push(TRADING_CHECK, HealthStatus.HEALTHY, None)

    # -- background loops --------------------------------------------------------------------------

    async def _watch_gateway(self) -> None:
        assert self.gateway is not None and self.engine is not None
        while True:
            ready, why = await self.gateway.ready()
            reason = None if ready else f"gateway not ready: {why}"
            if reason is None and self.stream is not None and not self.stream.connected:
                reason = "market data stream not connected"
            self.engine.pause(reason)
            self._push(GATEWAY_CHECK, HealthStatus.HEALTHY if ready else HealthStatus.DEGRADED, reason)
            await asyncio.sleep(self.settings.gateway_check_interval)

    async def _dead_man(self) -> None:
        """Kraken cancels every open order `timeout` s after the last refresh: a trader that dies or is cut
        off leaves nothing resting for long."""
        assert self.gateway is not None and self.engine is not None
        timeout = int(self.settings.dead_man_timeout)
        while True:
            if not self.engine.paused:
                reply = await self.gateway.private("CancelAllOrdersAfter", {"timeout": timeout})
                if reply.ok:
                    self.dead_man_armed_until = time.time() + timeout
                else:
                    log.warning("dead man's switch not refreshed: %s", reply.describe())
            await asyncio.sleep(self.settings.dead_man_interval)

    # -- stop --------------------------------------------------------------------------------------

    async def stop_trading(self) -> None:
        for task in self._loops:
            await cancel_and_wait(task)
        if self.engine is None:
            return
        await self.engine.stop_and_cancel(self.settings.cancel_timeout)
        # Give the executions feed a moment to report the cancels before it closes.
        deadline = time.monotonic() + 3.0
        while self.ledger.open() and time.monotonic() < deadline:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - time.monotonic()):
                    await self._changed.wait()
        left = self.ledger.open()
        if left:
            log.error(
                "stopping with %d order(s) possibly open; the dead man's switch cancels them by %s",
                len(left),
                self.dead_man_armed_until,
                extra={"open": [o.cl_ord_id for o in left]},
            )
        elif self.gateway is not None and self.dead_man_armed_until is not None:
            await self.gateway.private("CancelAllOrdersAfter", {"timeout": 0})
            self.dead_man_armed_until = None
        log.info("trader stopped; open orders left: %d", len(left))

    async def stop_feeds(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
        if self.feed is not None:
            await self.feed.stop()

    async def stop_strategy(self) -> None:
        await self.strategy.stop()

    async def stop_clients(self) -> None:
        if self.executor is not None:
            await self.executor.stop()
        for client in self._clients:
            await client.close()

    # -- health and HTTP ---------------------------------------------------------------------------

    def _order_changed(self, order: Any) -> None:
        if self.engine is not None:
            self.engine.on_order_changed(order)

    def _push(self, name: str, status: HealthStatus, message: str | None) -> None:
        self._app.monitor.update_component_status(name, status, message=message)

    async def orders(self, request: web.Request) -> web.Response:
        orders = sorted(self.ledger.all(), key=lambda o: o.created_at, reverse=True)
        body = {
            "orders": [order_to_dict(o) for o in orders],
            "open": len([o for o in orders if o.open]),
            "paused": None if self.engine is None else self.engine.paused,
            "strategy": self.strategy.describe(),
        }
        return web.json_response(body)

    def status(self) -> dict[str, Any]:
        if self.engine is None:
            return {"started": False}
        return {
            **self.engine.describe(),
            "executions_feed": None if self.feed is None else self.feed.status(),
            "market_stream": None if self.stream is None else self.stream.status(),
            "dead_man_armed_until": self.dead_man_armed_until,
            "rejections": None if self.executor is None else self.executor.rejections,
            "cancels": None
            if self.executor is None
            else {"sent": self.executor.cancels_sent, "held": self.executor.cancels_held},
        }


def build(app: ComponentApp) -> None:
    args = parse_arguments(app.options.extra)
    app.extra_args_consumed = True
    settings = settings_or_reject(read_trader_settings, app.environ)
    path = strategy_path(app.environ, args.strategy)
    try:
        strategy = load_strategy(path)
    except StrategyLoadError as exc:
        raise ComponentArgumentsError(str(exc)) from None
    params = dict(item.split("=", 1) for item in args.strategy_param)
    service = TraderService(app, settings, strategy, params)
    app.container.register_instance(TraderService, service)
    app.container.register_instance(Strategy, strategy)
    app.http.app.router.add_get("/orders", service.orders)
    services = Phase.SERVICES
    step = app.sequence.register_step
    step("clients", services, service.start_clients, shutdown=service.stop_clients)
    step("pair-rules", services, service.load_rules, dependencies=("clients",), retries=5, timeout=30)
    step("reconcile", services, service.reconcile, dependencies=("pair-rules",), retries=5, timeout=120)
    step(
        "strategy",
        services,
        service.start_strategy,
        dependencies=("reconcile",),
        shutdown=service.stop_strategy,
    )
    step("feeds", services, service.start_feeds, dependencies=("strategy",), shutdown=service.stop_feeds)
    step("trading", services, service.start_trading, dependencies=("feeds",), shutdown=service.stop_trading)
    app.monitor.register_component(TRADING_CHECK, critical=True)
    app.monitor.register_component(FEED_CHECK, critical=True)
    app.monitor.register_component(GATEWAY_CHECK, critical=False)
    app.add_status("trader", service.status)
