"""The trading loop: quotes and order updates in, the strategy's intents out through the pre-trade checks
and the executor. One decision per pair at a time: quotes that arrive while a pair's intents are being
carried out are coalesced into the newest, so a burst of book updates can never place two entries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tradingbot_components.clients.balances import BalanceManagerClient, Balances
from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.clients.market_stream import Quote
from tradingbot_components.clients.portfolio import PortfolioClient
from tradingbot_components.kraken.executions import parse_execution
from tradingbot_components.storage.models import OrderStatus
from tradingbot_components.strategy.api import (
    CancelOrder,
    Intent,
    Limits,
    OrderView,
    PlaceOrder,
    Strategy,
    TradingState,
)
from tradingbot_components.trader.executor import OrderExecutor, SendOutcome
from tradingbot_components.trader.ledger import OrderLedger, OwnFill
from tradingbot_components.trader.risk import Approved, check_order
from tradingbot_components.trading.positions import ZERO, Holding, apply_fill
from tradingbot_components.trading.rules import PairRules

log = logging.getLogger(__name__)


class TraderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tick_to_order = Histogram(
            "tradingbot_trader_tick_to_order_seconds",
            "From the book update that triggered a decision to the exchange's AddOrder acknowledgement",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
            registry=registry,
        )
        self.gateway_wait = Histogram(
            "tradingbot_trader_gateway_wait_seconds",
            "Of the tick-to-order time: what the gateway spent waiting for rate capacity",
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10),
            registry=registry,
        )
        self.orders = Counter(
            "tradingbot_trader_orders_total", "Orders by outcome", ["outcome"], registry=registry
        )
        self.refused = Counter(
            "tradingbot_trader_refused_total", "Intents refused by the pre-trade checks", registry=registry
        )
        self.open_orders = Gauge(
            "tradingbot_trader_open_orders", "Open orders of this trader", registry=registry
        )
        self.paused = Gauge("tradingbot_trader_paused", "1 while new orders are held back", registry=registry)


class TradingEngine:
    def __init__(
        self,
        strategy: Strategy,
        executor: OrderExecutor,
        ledger: OrderLedger,
        *,
        rules: Mapping[str, PairRules],
        limits: Callable[[], Limits],
        balances: BalanceManagerClient,
        portfolio: PortfolioClient,
        metrics: TraderMetrics,
        balance_refresh: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.strategy = strategy
        self.executor = executor
        self.ledger = ledger
        self.rules = dict(rules)
        self._limits = limits
        self._balances_client = balances
        self._portfolio = portfolio
        self.metrics = metrics
        self._balance_refresh = balance_refresh
        self._clock = clock
        self.holdings: dict[str, Holding] = {}
        self.balances: Balances | None = None
        self._balances_at = 0.0
        self.paused: str | None = "starting"
        self.running = False
        self._busy: set[str] = set()
        self._latest: dict[str, Quote] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.decisions = 0
        self.last_refusal: str | None = None
        self.last_error: str | None = None
        self.listeners: list[Callable[[OrderView], None]] = []  # told of every change to an order
        # Per order: the quantity and cost of its fills already in `holdings`.
        self._accounted: dict[str, tuple[Decimal, Decimal]] = {}

    # -- state -------------------------------------------------------------------------------------

    def state(self) -> TradingState:
        return TradingState(
            now=self._clock(),
            limits=self._limits(),
            orders=self.ledger.by_pair(),
            holdings=dict(self.holdings),
            rules=self.rules,
            paused=self.paused,
        )

    async def load_holdings(self) -> None:
        """Holdings as portfolio has them (the account's positions built from every fill)."""
        view = await self._portfolio.positions()
        self.holdings = {
            p.pair: Holding(p.quantity, p.average_price, p.realized_pnl)
            for p in view.positions
            if p.pair in self.rules
        }
        self.holdings_include_known_fills()
        log.info("holdings from portfolio: %s", {k: str(v.quantity) for k, v in self.holdings.items()})

    async def refresh_balances(self, *, max_age: float | None = None) -> Balances | None:
        age = self._clock() - self._balances_at
        if self.balances is not None and age <= (self._balance_refresh if max_age is None else max_age):
            return self.balances
        try:
            self.balances = await self._balances_client.balances()
            self._balances_at = self._clock()
        except (ServiceUnavailable, ServiceRejected) as exc:
            self.last_error = str(exc)
            self.balances = None
        return self.balances

    def pause(self, reason: str | None) -> None:
        if reason != self.paused:
            if reason:
                log.warning("new orders held back: %s", reason)
            else:
                log.info("trading resumed")
        self.paused = reason
        self.metrics.paused.set(1 if reason else 0)

    # -- events ------------------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        if not self.running or quote.pair not in self.rules:
            return
        self._latest[quote.pair] = quote
        if quote.pair not in self._busy:
            self._spawn(self._decide_on_quotes(quote.pair))

    def on_executions(self, message: Mapping[str, Any]) -> None:
        """An `executions` frame from the private feed: snapshots resync holdings, updates are applied."""
        snapshot = message.get("type") == "snapshot"
        listed: set[str] = set()
        for entry in message.get("data") or []:
            try:
                execution = parse_execution(entry)
            except (KeyError, ValueError) as exc:
                log.warning("unreadable execution entry skipped: %s", exc)
                continue
            listed.update(i for i in (execution.cl_ord_id, execution.order_id) if i)
            changed, fill = self.ledger.apply(execution)
            if fill is not None and not snapshot:
                self._apply_fill(fill)
            if changed is not None:
                self._spawn(self.executor.persist(changed))
                self.on_order_changed(changed)
        if snapshot:
            # Orders we hold open that the snapshot of open orders leaves out finished while the feed was
            # down (or never made it): ask the exchange what became of them.
            for order in self.ledger.open():
                if (
                    order.status is not OrderStatus.PENDING
                    and not {order.cl_ord_id, order.exchange_order_id} & listed
                ):
                    self._spawn(self.executor.refresh(order.cl_ord_id))

    def on_order_changed(self, order: OrderView) -> None:
        self._catch_up(order)
        self.metrics.open_orders.set(len(self.ledger.open()))
        for listener in self.listeners:
            listener(order)
        if not self.running:
            return
        try:
            intents = self.strategy.on_order(order, self.state())
        except Exception:
            log.exception("strategy %s failed in on_order", self.strategy.name)
            return
        if intents:
            self._spawn(self._carry_out(order.pair, intents, None))

    def _apply_fill(self, fill: OwnFill) -> None:
        holding = self.holdings.get(fill.pair) or Holding()
        self.holdings[fill.pair] = apply_fill(holding, str(fill.side), fill.quantity, fill.price, fill.fee)
        accounted = self._accounted.get(fill.cl_ord_id, (ZERO, ZERO))
        self._accounted[fill.cl_ord_id] = (
            accounted[0] + fill.quantity,
            accounted[1] + fill.quantity * fill.price,
        )
        self._balances_at = 0.0  # balances changed: the next check reads them afresh

    def _catch_up(self, order: OrderView) -> None:
        """Fills of `order` known only from its totals (a snapshot or a REST lookup after a feed gap): applied
        to the holding at their exact average price (cost difference / quantity difference), fees unknown."""
        quantity, cost = self._accounted.get(order.cl_ord_id, (ZERO, ZERO))
        missed = order.filled - quantity
        if missed <= 0 or order.average_price is None:
            return
        missed_cost = order.filled * order.average_price - cost
        holding = self.holdings.get(order.pair) or Holding()
        self.holdings[order.pair] = apply_fill(holding, str(order.side), missed, missed_cost / missed)
        self._accounted[order.cl_ord_id] = (order.filled, order.filled * order.average_price)
        self._balances_at = 0.0
        log.info(
            "%s %s of order %s filled while unobserved: holding caught up",
            order.side,
            missed,
            order.cl_ord_id,
        )

    def holdings_include_known_fills(self) -> None:
        """After holdings were loaded from portfolio: every fill the ledger knows of is already in them."""
        self._accounted = {
            o.cl_ord_id: (o.filled, o.filled * (o.average_price or ZERO)) for o in self.ledger.all()
        }

    # -- deciding and acting -----------------------------------------------------------------------

    async def _decide_on_quotes(self, pair: str) -> None:
        self._busy.add(pair)
        try:
            while self.running and (quote := self._latest.pop(pair, None)) is not None:
                self.decisions += 1
                try:
                    intents = self.strategy.on_quote(quote, self.state())
                except Exception:
                    log.exception("strategy %s failed in on_quote", self.strategy.name)
                    continue
                if intents:
                    await self._carry_out(pair, intents, quote)
        finally:
            self._busy.discard(pair)

    async def _carry_out(self, pair: str, intents: Sequence[Intent], quote: Quote | None) -> None:
        for intent in intents:
            if isinstance(intent, CancelOrder):
                order = self.ledger.get(intent.cl_ord_id)
                if order is not None and order.open:
                    await self.executor.cancel(order, self.rules.get(order.pair), intent.reason or "strategy")
            elif isinstance(intent, PlaceOrder):
                await self._place(intent, quote)

    async def _place(self, intent: PlaceOrder, quote: Quote | None) -> None:
        if self.paused:
            self._refuse(f"paused: {self.paused}")
            return
        rules = self.rules.get(intent.pair)
        if rules is None:
            self._refuse(f"{intent.pair} is not a traded pair")
            return
        decided_at = self._clock()
        balances = await self.refresh_balances()
        decision = check_order(
            intent, rules, self.holdings.get(intent.pair) or Holding(), self._limits(), balances
        )
        if not isinstance(decision, Approved):
            self._refuse(decision.reason)
            return
        placement = await self.executor.place(decision, rules, intent.tag, post_only=intent.post_only)
        self.metrics.orders.labels(placement.outcome).inc()
        if placement.outcome == SendOutcome.PLACED:
            self._balances_at = 0.0
            if quote is not None:
                latency = max(0.0, placement.answered_at - quote.received_at)
                self.metrics.tick_to_order.observe(latency)
                self.metrics.gateway_wait.observe(placement.waited)
                log.info(
                    "order acknowledged %.6fs after the quote (gateway wait %.6fs)",
                    latency,
                    placement.waited,
                    extra={
                        "tick_to_order": latency,
                        "decision_to_ack": max(0.0, placement.answered_at - decided_at),
                        "gateway_wait": placement.waited,
                        "cl_ord_id": placement.order.cl_ord_id if placement.order else None,
                    },
                )

    def _refuse(self, reason: str) -> None:
        self.metrics.refused.inc()
        if reason != self.last_refusal:
            log.info("order intent refused: %s", reason)
        self.last_refusal = reason

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- stopping ----------------------------------------------------------------------------------

    async def stop_and_cancel(self, timeout: float) -> list[OrderView]:
        """Stop deciding, then cancel every open order; the orders still open afterwards."""
        self.running = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        deadline = self._clock() + timeout
        pending = self.ledger.open()
        for order in pending:
            if self._clock() > deadline:
                break
            try:
                async with asyncio.timeout(max(0.1, deadline - self._clock())):
                    await self.executor.cancel(
                        order, self.rules.get(order.pair), "trader stopping", resend=True
                    )
            except TimeoutError:
                break
        return self.ledger.open()

    def describe(self) -> dict[str, Any]:
        limits = self._limits()
        return {
            "running": self.running,
            "paused": self.paused,
            "decisions": self.decisions,
            "orders_sent": self.executor.sent,
            "open_orders": len(self.ledger.open()),
            "last_refusal": self.last_refusal,
            "limits": {
                "profit_target": str(limits.profit_target),
                "max_position_size": str(limits.max_position_size),
            },
            "holdings": {
                pair: {"quantity": str(h.quantity), "average_price": str(h.average_price)}
                for pair, h in self.holdings.items()
            },
            "strategy": self.strategy.describe(),
        }


def order_to_dict(order: OrderView) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "cl_ord_id": order.cl_ord_id,
        "pair": order.pair,
        "side": str(order.side),
        "volume": str(order.volume),
        "price": str(order.price),
        "status": str(order.status),
        "filled": str(order.filled),
        "average_price": text(order.average_price),
        "tag": order.tag,
        "exchange_order_id": order.exchange_order_id,
        "created_at": order.created_at,
    }
