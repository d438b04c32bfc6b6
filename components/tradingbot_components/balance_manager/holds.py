"""What open orders hold, from the WS v2 `executions` channel: the open orders (a snapshot, then merged
updates, which may carry only the fields that changed) and the funds each reserves. Pure.

As Kraken (and the simulator) hold them: a buy limit order holds `remaining * limit_price * (1 + taker fee)`
of the quote asset, a sell order `remaining` of the base asset; a buy without a limit price holds nothing
that can be computed here (a market order lives for an instant). The per-asset sum is rounded to the
asset's decimals as `BalanceEx.hold_trade` is.

A fill lowers the hold at once, but the balance it moves arrives separately on the `balances` channel; until
that ledger row (its `ref_id` is the fill's `exec_id`) arrives, the released amount stays held ("unsettled"),
so `available` never briefly counts money that is already spent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tradingbot_components.balance_manager.assets import AssetNames
from tradingbot_components.kraken.executions import Execution, parse_execution
from tradingbot_components.market_data.symbols import ws_symbol
from tradingbot_components.trading.rules import parse_asset_pairs

log = logging.getLogger(__name__)

# Kraken's spot taker fee at the lowest volume tier; used for a pair AssetPairs did not describe.
DEFAULT_TAKER_FEE = Decimal("0.0040")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PairAssets:
    """A pair's assets as BalanceEx names them, and the fee a buy order holds on top of its cost."""

    base: str
    quote: str
    taker_fee: Decimal


class PairDirectory:
    """WS v2 symbol -> `PairAssets`: from AssetPairs, else split and resolved with the default fee."""

    def __init__(self, names: AssetNames) -> None:
        self._names = names
        self._pairs: dict[str, PairAssets] = {}
        self.assumed: set[str] = set()  # symbols AssetPairs did not describe

    def learn(self, asset_pairs: Mapping[str, Any]) -> None:
        """An `AssetPairs` result (`info=info`)."""
        for symbol, rules in parse_asset_pairs(asset_pairs).items():
            if rules.base and rules.quote:
                self._pairs[symbol] = PairAssets(rules.base, rules.quote, rules.taker_fee)

    def __call__(self, symbol: str) -> PairAssets | None:
        wanted = ws_symbol(symbol)
        known = self._pairs.get(wanted)
        if known is not None:
            return known
        base, slash, quote = wanted.partition("/")
        if not slash or not base or not quote:
            return None
        self.assumed.add(wanted)
        return PairAssets(self._names.rest_id(base), self._names.rest_id(quote), DEFAULT_TAKER_FEE)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    order_id: str
    symbol: str  # WS v2
    side: str  # buy | sell
    order_qty: Decimal | None
    cum_qty: Decimal
    limit_price: Decimal | None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.order_qty is None else self.order_qty - self.cum_qty


def order_hold(order: OpenOrder, pair: PairAssets) -> tuple[str, Decimal] | None:
    """(asset, amount) an open order reserves, or None when it reserves nothing computable."""
    remaining = order.remaining
    if remaining is None or remaining <= 0:
        return None
    if order.side == "sell":
        return pair.base, remaining
    if order.side == "buy" and order.limit_price is not None:
        return pair.quote, remaining * order.limit_price * (1 + pair.taker_fee)
    return None


def _merged(previous: OpenOrder | None, entry: Mapping[str, Any], execution: Execution) -> OpenOrder:
    """An update carries what changed; everything it leaves out stays as it was."""
    if previous is None:
        previous = OpenOrder(execution.order_id, "", "", None, ZERO, None)
    return replace(
        previous,
        symbol=ws_symbol(execution.symbol) if execution.symbol else previous.symbol,
        side=execution.side or previous.side,
        order_qty=execution.order_qty if execution.order_qty is not None else previous.order_qty,
        cum_qty=execution.cum_qty if "cum_qty" in entry else previous.cum_qty,
        limit_price=execution.limit_price if execution.limit_price is not None else previous.limit_price,
    )


class OpenOrders:
    """The account's open orders and the unsettled part of their fills."""

    def __init__(self, pairs: Callable[[str], PairAssets | None]) -> None:
        self._pairs = pairs
        self.orders: dict[str, OpenOrder] = {}
        self.unsettled: dict[str, tuple[str, Decimal]] = {}  # exec_id -> (asset, amount still held)
        self.unreadable = 0
        self.last_unreadable: str | None = None

    def replace_all(self, entries: Iterable[Mapping[str, Any]]) -> set[str]:
        """An `executions` snapshot: exactly these orders are open now. The assets whose hold may change."""
        touched = self._assets(self.orders.values())
        self.orders = {}
        for entry in entries:
            self.apply(entry)
        return touched | self._assets(self.orders.values())

    def apply(self, entry: Mapping[str, Any]) -> set[str]:
        """One `executions` entry; the assets whose hold may have changed."""
        try:
            execution = parse_execution(entry)
        except (KeyError, ValueError, ArithmeticError) as exc:
            self.unreadable += 1
            self.last_unreadable = f"{type(exc).__name__}: {exc}: {dict(entry)!r:.200}"
            log.warning("executions entry skipped: %s", self.last_unreadable)
            return set()
        previous = self.orders.get(execution.order_id)
        current = _merged(previous, entry, execution)
        if execution.order_status.open:
            self.orders[current.order_id] = current
        else:
            self.orders.pop(current.order_id, None)
        if execution.is_fill and execution.exec_id is not None:
            self._hold_back(previous, current, execution.exec_id)
        return self._assets([current])

    def settle(self, ref_id: str, asset: str) -> bool:
        """A ledger row for `asset` arrived: the fill `ref_id` it books no longer needs holding back."""
        waiting = self.unsettled.get(ref_id)
        if waiting is None or waiting[0] != asset:
            return False
        del self.unsettled[ref_id]
        return True

    def forget_unsettled(self, assets: Iterable[str] | None = None) -> None:
        """The balances of `assets` (all when None) were read whole: nothing is pending for them."""
        if assets is None:
            self.unsettled.clear()
            return
        dropped = set(assets)
        self.unsettled = {k: v for k, v in self.unsettled.items() if v[0] not in dropped}

    def held(self, decimals: Mapping[str, int]) -> dict[str, Decimal]:
        """What the open orders (and unsettled fills) hold per asset, rounded as BalanceEx rounds it."""
        held: dict[str, Decimal] = {}
        for order in self.orders.values():
            pair = self._pairs(order.symbol) if order.symbol else None
            hold = order_hold(order, pair) if pair is not None else None
            if hold is not None:
                held[hold[0]] = held.get(hold[0], ZERO) + hold[1]
        for asset, amount in self.unsettled.values():
            held[asset] = held.get(asset, ZERO) + amount
        return {asset: _rounded(amount, decimals.get(asset)) for asset, amount in held.items()}

    def _hold_back(self, previous: OpenOrder | None, current: OpenOrder, exec_id: str) -> None:
        pair = self._pairs(current.symbol) if current.symbol else None
        if previous is None or pair is None:
            return
        before = order_hold(previous, pair)
        after = order_hold(current, pair)
        if before is None:
            return
        released = before[1] - (after[1] if after is not None and after[0] == before[0] else ZERO)
        if released > 0:
            self.unsettled[exec_id] = (before[0], released)

    def _assets(self, orders: Iterable[OpenOrder]) -> set[str]:
        assets: set[str] = set()
        for order in orders:
            pair = self._pairs(order.symbol) if order.symbol else None
            if pair is not None:
                assets.update((pair.base, pair.quote))
        return assets


def _rounded(amount: Decimal, places: int | None) -> Decimal:
    if places is None:
        return amount
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
