"""Kraken's published rate limits and call costs, and the decaying counter they apply to.

Pure facts and arithmetic: the governor waits on these counters client-side, and the simulator uses the
same `DecayingCounter` to reject calls exactly where Kraken would. Numbers are Kraken's
published spot REST and trading rate limits (docs.kraken.com spot-rest-ratelimits, spot-ratelimits).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

_EPSILON = 1e-9  # float slack when comparing a decayed level against the cap


class Tier(enum.StrEnum):
    STARTER = "starter"
    INTERMEDIATE = "intermediate"
    PRO = "pro"


@dataclass(frozen=True, slots=True)
class CounterLimits:
    """A counter's cap and its linear decay in points per second."""

    max: float
    decay_per_second: float

    def __post_init__(self) -> None:
        if self.max <= 0 or self.decay_per_second <= 0:
            raise ValueError(
                f"counter limits must be positive, got max={self.max} decay={self.decay_per_second}"
            )


REST_LIMITS: Mapping[Tier, CounterLimits] = {
    Tier.STARTER: CounterLimits(15, 0.33),
    Tier.INTERMEDIATE: CounterLimits(20, 0.5),
    Tier.PRO: CounterLimits(20, 1.0),
}
TRADING_LIMITS: Mapping[Tier, CounterLimits] = {
    Tier.STARTER: CounterLimits(60, 1.0),
    Tier.INTERMEDIATE: CounterLimits(125, 2.34),
    Tier.PRO: CounterLimits(180, 3.75),
}
# Public calls are limited per IP with no published figure; ccxt spaces them 1 s apart.
PUBLIC_LIMITS = CounterLimits(1, 1.0)

PUBLIC_METHODS: frozenset[str] = frozenset(
    {"Time", "SystemStatus", "Assets", "AssetPairs", "Ticker", "OHLC", "Depth", "Trades", "Spread"}
)
# Ledger and trade-history calls cost 2. ClosedOrders is order history: counted as 2 to be safe (ccxt does).
REST_COSTS: Mapping[str, int] = {
    "Ledgers": 2,
    "QueryLedgers": 2,
    "TradesHistory": 2,
    "QueryTrades": 2,
    "ClosedOrders": 2,
}


class TradingAction(enum.StrEnum):
    ADD = "add"
    AMEND = "amend"
    EDIT = "edit"
    CANCEL = "cancel"


# REST and WS v2 names of the calls charged to the per-pair trading counter.
TRADING_METHODS: Mapping[str, TradingAction] = {
    "AddOrder": TradingAction.ADD,
    "AddOrderBatch": TradingAction.ADD,
    "add_order": TradingAction.ADD,
    "batch_add": TradingAction.ADD,
    "AmendOrder": TradingAction.AMEND,
    "amend_order": TradingAction.AMEND,
    "EditOrder": TradingAction.EDIT,
    "edit_order": TradingAction.EDIT,
    "CancelOrder": TradingAction.CANCEL,
    "CancelOrderBatch": TradingAction.CANCEL,
    "cancel_order": TradingAction.CANCEL,
    "batch_cancel": TradingAction.CANCEL,
}

# Kraken exempts only these two from the REST counter. The other REST order calls are charged +1 there
# as well as on the trading counter: conservative, as the docs do not say they are exempt.
REST_EXEMPT: frozenset[str] = frozenset({"AddOrder", "CancelOrder"})
_WS_METHODS: frozenset[str] = frozenset(name for name in TRADING_METHODS if name.islower())

_FIXED_COST: Mapping[TradingAction, int] = {
    TradingAction.ADD: 1,
    TradingAction.AMEND: 1,
    TradingAction.EDIT: 1,
    TradingAction.CANCEL: 0,
}
# (order younger than N seconds, extra points), youngest first.
_AGE_PENALTY: Mapping[TradingAction, tuple[tuple[float, int], ...]] = {
    TradingAction.ADD: (),
    TradingAction.AMEND: ((5, 3), (10, 2), (15, 1)),
    TradingAction.EDIT: ((5, 6), (10, 5), (15, 4), (45, 2), (90, 1)),
    TradingAction.CANCEL: ((5, 8), (10, 6), (15, 5), (45, 4), (90, 2), (300, 1)),
}


def trading_cost(action: TradingAction, order_age: float | None = None) -> int:
    """Points one order action adds to its pair's counter; an unknown age is charged as the youngest."""
    penalty = 0
    for younger_than, extra in _AGE_PENALTY[action]:
        if order_age is None or order_age < younger_than:
            penalty = extra
            break
    return _FIXED_COST[action] + penalty


@dataclass(frozen=True, slots=True)
class CallCost:
    """What one call charges: REST counter points, trading counter points (for `pair`), public points."""

    rest: int = 0
    trading: int = 0
    public: int = 0
    pair: str | None = None


def cost_of(
    method: str, pair: str | None = None, *, order_age: float | None = None, count: int = 1
) -> CallCost:
    """The charge of a call. For batches pass `count` and the age of the youngest order."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    action = TRADING_METHODS.get(method)
    if action is not None:
        if pair is None:
            raise ValueError(f"{method} is charged to the per-pair trading counter: pass pair=...")
        rest = 0 if method in REST_EXEMPT or method in _WS_METHODS else 1
        return CallCost(rest=rest, trading=trading_cost(action, order_age) * count, pair=pair)
    if method in PUBLIC_METHODS:
        return CallCost(public=1)
    return CallCost(rest=REST_COSTS.get(method, 1))


class DecayingCounter:
    """Kraken's counter: each call adds its cost, the level decays linearly to zero."""

    __slots__ = ("_level", "_updated_at", "limits")

    def __init__(self, limits: CounterLimits, now: float) -> None:
        self.limits = limits
        self._level = 0.0
        self._updated_at = now

    def level(self, now: float) -> float:
        elapsed = max(0.0, now - self._updated_at)
        return max(0.0, self._level - elapsed * self.limits.decay_per_second)

    def _settle(self, now: float) -> float:
        self._level = self.level(now)
        self._updated_at = max(now, self._updated_at)
        return self._level

    def fits(self, cost: float, now: float, cap: float | None = None) -> bool:
        limit = self.limits.max if cap is None else cap
        return self.level(now) + cost <= limit + _EPSILON

    def try_charge(self, cost: float, now: float, cap: float | None = None) -> bool:
        """Add `cost` if the level stays within `cap` (default: the max); what the exchange does."""
        if not self.fits(cost, now, cap):
            return False
        self._level = self._settle(now) + cost
        return True

    def seconds_until_fits(self, cost: float, now: float, cap: float | None = None) -> float:
        limit = self.limits.max if cap is None else cap
        excess = self.level(now) + cost - limit
        return 0.0 if excess <= _EPSILON else excess / self.limits.decay_per_second

    def fill(self, now: float) -> None:
        """Model the counter as full (what a rate-limit rejection tells us)."""
        self._settle(now)
        self._level = self.limits.max
