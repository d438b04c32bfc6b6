"""The matching engine: accounts' orders against the simulated markets, balances and fees, the per-pair
trading counters, expiry and the dead man's switch (`CancelAllOrdersAfter`).

Effects stay inside the engine's own state; the clock is passed in, and listeners (the WS layer) hear
every order event and ledger row. REST and WS v2 both place and cancel through here, so they share limits.
"""

from __future__ import annotations

import enum
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tradingbot_components.exchange_sim.accounts import Account, LedgerRow
from tradingbot_components.exchange_sim.admission import Refused, charge_trading
from tradingbot_components.exchange_sim.catalog import Catalog, PairSpec
from tradingbot_components.exchange_sim.market import Consumed, Side, SimulatedMarket
from tradingbot_components.exchange_sim.orders import (
    Fill,
    Order,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradingbot_components.exchange_sim.rate_limits import OPEN_ORDERS_PER_PAIR, OrderAction, Tier
from tradingbot_components.exchange_sim.tape import PublicTrade, Tape
from tradingbot_components.kraken.errors import KrakenError

DUPLICATE_ORDER = "EOrder:Duplicate order"


class ClOrdIdScope(enum.StrEnum):
    OPEN = "open"  # Kraken: unique among open orders
    ALL = "all"  # stricter: unique among every order the account ever placed


@dataclass(frozen=True, slots=True)
class Fees:
    maker: Decimal = Decimal("0.0025")
    taker: Decimal = Decimal("0.0040")


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """`exec_type` as in WS v2 executions: pending_new, new, trade, filled, canceled, expired."""

    account: str
    order: Order
    exec_type: str
    time: float
    fill: Fill | None = None


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    account: str
    rows: tuple[LedgerRow, ...]


EngineEvent = OrderEvent | LedgerEvent
Listener = Callable[[EngineEvent], None]


class Engine:
    def __init__(
        self,
        catalog: Catalog,
        markets: dict[str, SimulatedMarket],
        tapes: dict[str, Tape],
        *,
        tier: Tier,
        rng: random.Random,
        fees: Fees | None = None,
        cl_ord_id_scope: ClOrdIdScope = ClOrdIdScope.OPEN,
    ) -> None:
        self.catalog = catalog
        self.markets = markets
        self.tapes = tapes
        self.tier = tier
        self.fees = fees or Fees()
        self.cl_ord_id_scope = cl_ord_id_scope
        self.accounts: dict[str, Account] = {}
        self.listeners: list[Listener] = []
        self.public_listeners: list[Callable[[PairSpec, PublicTrade], None]] = []
        self._rng = rng
        self._resting: dict[tuple[str, Side, int], list[Order]] = {}

    # -- ids and events ---------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        chars = string.ascii_uppercase + string.digits
        parts = ["".join(self._rng.choices(chars, k=n)) for n in (5, 5, 6)]
        return f"{prefix}{parts[0]}-{parts[1]}-{parts[2]}"

    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self.listeners):
            listener(event)

    def _order_event(
        self, account: Account, order: Order, exec_type: str, now: float, fill: Fill | None = None
    ) -> None:
        self._emit(OrderEvent(account.key, order, exec_type, now, fill))

    # -- funds ------------------------------------------------------------------------------------

    def held(self, account: Account, asset_id: str) -> Decimal:
        total = Decimal(0)
        for order in account.open.values():
            asset, amount = order.hold(self.fees.taker)
            if asset == asset_id:
                total += amount
        return total

    def available(self, account: Account, asset_id: str) -> Decimal:
        return account.balance(asset_id) - self.held(account, asset_id)

    def _check_funds(self, account: Account, request: OrderRequest) -> None:
        pair, market = request.pair, self.markets[request.pair.id]
        if request.side is Side.SELL:
            needed, asset = request.volume, pair.base.id
        else:
            asset = pair.quote.id
            if request.ordertype is OrderType.LIMIT:
                price = request.price or Decimal(0)
                needed = request.volume * price * (1 + self.fees.taker)
            else:
                preview = market.sweep(Side.BUY, pair.to_lots(request.volume), None, take=False)
                cost = sum((pair.price(t) * pair.qty(lots) for t, lots in preview), Decimal(0))
                needed = cost * (1 + self.fees.taker)
        if needed > self.available(account, asset):
            raise OrderRejected(KrakenError.INSUFFICIENT_FUNDS.value)

    # -- placing ----------------------------------------------------------------------------------

    def add_order(self, account: Account, request: OrderRequest, now: float) -> Order | None:
        """Place (or with `validate`, only check) an order; the order, or None when validating.

        The trading counter is charged first, as Kraken charges on receipt even if validation fails.
        Raises `OrderRejected` with Kraken's error.
        """
        pair = request.pair
        refused = charge_trading(account, pair.id, self.tier, OrderAction.ADD, now)
        if isinstance(refused, Refused):
            raise OrderRejected(refused.error.value)
        if request.cl_ord_id is not None:
            open_only = self.cl_ord_id_scope is ClOrdIdScope.OPEN
            if account.by_cl_ord_id(request.cl_ord_id, open_only=open_only) is not None:
                raise OrderRejected(DUPLICATE_ORDER)
        if len(account.open_for(pair.id)) >= OPEN_ORDERS_PER_PAIR[self.tier]:
            raise OrderRejected(KrakenError.ORDERS_LIMIT_EXCEEDED.value)
        market = self.markets[pair.id]
        limit = pair.to_ticks(request.price) if request.price is not None else None
        if request.post_only and limit is not None and market.crosses(request.side, limit):
            raise OrderRejected(KrakenError.POST_ONLY_ORDER.value)
        self._check_funds(account, request)
        if request.validate:
            return None
        order = Order(self._id("O"), request, now)
        account.orders[order.txid] = order
        account.open[order.txid] = order
        self._order_event(account, order, "pending_new", now)
        order.status = OrderStatus.OPEN
        self._order_event(account, order, "new", now)
        for ticks, lots in market.sweep(request.side, pair.to_lots(request.volume), limit):
            self._execute(account, order, ticks, lots, maker=False, now=now)
        if order.is_open:
            if request.ordertype is OrderType.MARKET or request.timeinforce is TimeInForce.IOC:
                self._close(
                    account, order, OrderStatus.CANCELED, "IOC" if limit else "Insufficient liquidity", now
                )
            else:
                assert limit is not None
                market.side(request.side).add_user(limit, pair.to_lots(order.remaining))
                self._resting.setdefault((pair.id, request.side, limit), []).append(order)
        return order

    def _execute(
        self, account: Account, order: Order, ticks: int, lots: int, *, maker: bool, now: float
    ) -> None:
        pair = order.pair
        price, volume = pair.price(ticks), pair.qty(lots)
        cost = price * volume
        rate = self.fees.maker if maker else self.fees.taker
        fee = (cost * rate).quantize(Decimal(1).scaleb(-pair.quote.decimals), rounding=ROUND_HALF_UP)
        base, quote = pair.base.id, pair.quote.id
        if order.side is Side.BUY:
            deltas = ((base, volume, Decimal(0)), (quote, -cost, fee))
        else:
            deltas = ((base, -volume, Decimal(0)), (quote, cost, fee))
        trade = self.tapes[pair.id].record(
            order.side if not maker else order.side.opposite,
            ticks,
            lots,
            order.request.ordertype.value if not maker else "market",
            now,
        )
        fill = Fill(
            self._id("T"),
            order.txid,
            pair,
            order.side,
            order.request.ordertype,
            price,
            volume,
            cost,
            fee,
            now,
            maker,
            trade.trade_id,
        )
        account.fills.append(fill)
        order.vol_exec += volume
        order.cost += cost
        order.fee += fee
        order.trades.append(fill.trade_id)
        rows = []
        for asset, amount, row_fee in deltas:
            account.balances[asset] = account.balance(asset) + amount - row_fee
            rows.append(
                LedgerRow(
                    self._id("L"),
                    fill.trade_id,
                    now,
                    "trade",
                    asset,
                    amount,
                    row_fee,
                    account.balances[asset],
                )
            )
        account.ledger.extend(rows)
        for listener in list(self.public_listeners):
            listener(pair, trade)
        self._order_event(account, order, "trade", now, fill)
        if order.remaining <= 0:
            self._close(account, order, OrderStatus.CLOSED, None, now)
        self._emit(LedgerEvent(account.key, tuple(rows)))

    def _close(
        self, account: Account, order: Order, status: OrderStatus, reason: str | None, now: float
    ) -> None:
        order.status, order.reason, order.closetm = status, reason, now
        account.open.pop(order.txid, None)
        exec_type = {OrderStatus.CLOSED: "filled", OrderStatus.EXPIRED: "expired"}.get(status, "canceled")
        self._order_event(account, order, exec_type, now)

    def _unrest(self, order: Order) -> None:
        price = order.request.price
        if price is None:
            return
        pair = order.pair
        ticks = pair.to_ticks(price)
        queue = self._resting.get((pair.id, order.side, ticks), [])
        if order in queue:
            queue.remove(order)
            self.markets[pair.id].side(order.side).add_user(ticks, -pair.to_lots(order.remaining))

    # -- cancelling -------------------------------------------------------------------------------

    def find(self, account: Account, ref: str, kind: str | None = None) -> list[Order]:
        """Open orders matching `ref` as a txid, a cl_ord_id or a userref (every order with it); `kind`
        (`txid`, `cl_ord_id`, `userref`) restricts the match to one of them."""
        if kind in (None, "txid") and ref in account.open:
            return [account.open[ref]]
        if kind in (None, "cl_ord_id"):
            by_client = account.by_cl_ord_id(ref, open_only=True)
            if by_client is not None:
                return [by_client]
        if kind in (None, "userref"):
            try:
                userref = int(ref)
            except ValueError:
                return []
            return [o for o in account.open.values() if o.request.userref == userref]
        return []

    def cancel(
        self, account: Account, orders: Iterable[Order], now: float, reason: str = "User requested"
    ) -> int:
        """Cancel open orders, charging each cancel's order-age penalty to its pair's counter."""
        count = 0
        for order in list(orders):
            if not order.is_open:
                continue
            refused = charge_trading(
                account, order.pair.id, self.tier, OrderAction.CANCEL, now, now - order.opentm
            )
            if isinstance(refused, Refused):
                raise OrderRejected(refused.error.value)
            self._unrest(order)
            self._close(account, order, OrderStatus.CANCELED, reason, now)
            count += 1
        return count

    def cancel_all(self, account: Account, now: float, reason: str = "User requested") -> int:
        # Kraken does not document a trading-counter charge for cancel-all; none is applied.
        orders = list(account.open.values())
        for order in orders:
            self._unrest(order)
            self._close(account, order, OrderStatus.CANCELED, reason, now)
        return len(orders)

    def arm_dead_man(self, account: Account, timeout: int, now: float) -> float | None:
        """`CancelAllOrdersAfter`: cancel everything `timeout` s from now unless re-armed; 0 disarms."""
        account.dead_man_at = None if timeout == 0 else now + timeout
        return account.dead_man_at

    # -- time passing -----------------------------------------------------------------------------

    def step(self, now: float) -> dict[str, list[PublicTrade]]:
        """Move every market one step, fill the resting orders it traded through, expire, run the dead
        man's switches; the public trades of the step by pair id."""
        traded: dict[str, list[PublicTrade]] = {}
        for pair_id, market in self.markets.items():
            traded[pair_id] = self._consume(market.pair, market.step(), now)
        self.expire(now)
        return traded

    def move_market(self, pair: PairSpec, price: Decimal, now: float) -> list[PublicTrade]:
        return self._consume(pair, self.markets[pair.id].move_to(pair.to_ticks(price)), now)

    def _consume(self, pair: PairSpec, consumed: list[Consumed], now: float) -> list[PublicTrade]:
        trades: list[PublicTrade] = []
        tape = self.tapes[pair.id]
        for level in consumed:
            if level.sim_lots:
                trade = tape.record(level.side.opposite, level.ticks, level.sim_lots, "market", now)
                trades.append(trade)
                for listener in list(self.public_listeners):
                    listener(pair, trade)
            for order in self._resting.pop((pair.id, level.side, level.ticks), []):
                account = self._owner(order)
                if account is not None and order.is_open:
                    self._execute(
                        account, order, level.ticks, pair.to_lots(order.remaining), maker=True, now=now
                    )
        return trades

    def _owner(self, order: Order) -> Account | None:
        return next((a for a in self.accounts.values() if order.txid in a.open), None)

    def expire(self, now: float) -> None:
        for account in self.accounts.values():
            for order in list(account.open.values()):
                if order.request.expiretm is not None and order.request.expiretm <= now:
                    self._unrest(order)
                    self._close(account, order, OrderStatus.EXPIRED, "Order expired", now)
            if account.dead_man_at is not None and account.dead_man_at <= now:
                account.dead_man_at = None
                self.cancel_all(account, now, reason="Dead man's switch")
