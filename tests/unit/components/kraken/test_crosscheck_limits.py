"""Cross-check of the two rate-limit models against Kraken's published figures.

The clients' `RateGovernor` (over `kraken.limits`) decides when to send; the simulator's own
`exchange_sim.rate_limits` decides whether Kraken would accept. Both run the same call sequences here and
must match the numbers on Kraken's "Spot REST Rate Limits" and "Spot Trading Limits" pages, which are
written down below from the documentation, not from either implementation. The governor's send times,
replayed into the simulator's counters, must never be refused: that is "0 rate-limit errors" checked
against a model the client does not share.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from tests.unit.components.kraken.fakes import FakeTime
from tradingbot_components.config.schema import RateLimitingConfig
from tradingbot_components.exchange_sim import rate_limits as sim
from tradingbot_components.gateway import settings as gateway_settings
from tradingbot_components.kraken import limits as client
from tradingbot_components.kraken.rate_limit import RateGovernor

START = 1_000.0
PAIR = "XBTUSD"
DEFAULT_MARGIN = RateLimitingConfig().timing_margin

# docs.kraken.com guides/spot-rest-ratelimits: tier -> (max API counter, decay per second).
DOCS_REST = {"starter": (15, "0.33"), "intermediate": (20, "0.5"), "pro": (20, "1")}
# docs.kraken.com guides/spot-ratelimits: tier -> (threshold, decay per second, open orders per pair).
DOCS_TRADING = {"starter": (60, "1", 60), "intermediate": (125, "2.34", 80), "pro": (180, "3.75", 225)}
# The same page's table: fixed count, then the extra count for an order resting < 5/10/15/45/90/300 s.
DOCS_BANDS = (5, 10, 15, 45, 90, 300)
DOCS_TRADING_TABLE = {
    "add": (1, (0, 0, 0, 0, 0, 0)),
    "amend": (1, (3, 2, 1, 0, 0, 0)),
    "edit": (1, (6, 5, 4, 2, 1, 0)),
    "cancel": (0, (8, 6, 5, 4, 2, 1)),
}
# REST costs: "Ledger/trade history calls increase the counter by 2. All other API calls increase this
# counter by 1 (except AddOrder, CancelOrder which operate on a different limiter)."
DOCS_REST_COSTS = {
    "Balance": 1,
    "BalanceEx": 1,
    "OpenOrders": 1,
    "QueryOrders": 1,
    "CancelAll": 1,
    "CancelAllOrdersAfter": 1,
    "GetWebSocketsToken": 1,
    "Ledgers": 2,
    "QueryLedgers": 2,
    "TradesHistory": 2,
    "QueryTrades": 2,
    "AddOrder": 0,
    "CancelOrder": 0,
}

TIERS = ["starter", "intermediate", "pro"]


def docs_cost(action: str, age: float) -> int:
    fixed, extras = DOCS_TRADING_TABLE[action]
    for band, extra in zip(DOCS_BANDS, extras, strict=True):
        if age < band:
            return fixed + extra
    return fixed


def governed_send_times(tier: str, method: str, calls: int, pair: str | None = None) -> list[float]:
    """When the client's governor lets each of `calls` back-to-back calls go (virtual time)."""
    time = FakeTime(START)
    governor = RateGovernor(client.Tier(tier), clock=time.clock, sleep=time.sleep)

    async def run() -> list[float]:
        sent = []
        for _ in range(calls):
            await governor.acquire(method, pair)
            sent.append(time.now)
        return sent

    return asyncio.run(run())


def docs_send_times(maximum: int, decay: str, calls: int, cost: int = 1) -> list[float]:
    """Kraken's figures, back to back: call i (from 0) fits once (i + 1) * cost - maximum points decayed."""
    per_second = float(Decimal(decay))
    return [START + max(0, (index + 1) * cost - maximum) / per_second for index in range(calls)]


@pytest.mark.parametrize("tier", TIERS)
def test_the_documented_rest_figures(tier: str) -> None:
    maximum, decay = DOCS_REST[tier]
    assert sim.REST_RULES[sim.Tier(tier)] == sim.CounterRule(Decimal(maximum), Decimal(decay))
    rule = client.REST_LIMITS[client.Tier(tier)]
    assert (rule.max, rule.decay_per_second) == (maximum, float(decay))


@pytest.mark.parametrize("tier", TIERS)
def test_the_documented_trading_figures(tier: str) -> None:
    threshold, decay, open_orders = DOCS_TRADING[tier]
    assert sim.TRADING_RULES[sim.Tier(tier)] == sim.CounterRule(Decimal(threshold), Decimal(decay))
    assert sim.OPEN_ORDERS_PER_PAIR[sim.Tier(tier)] == open_orders
    rule = client.TRADING_LIMITS[client.Tier(tier)]
    assert (rule.max, rule.decay_per_second) == (threshold, float(decay))


@pytest.mark.parametrize("method", sorted(DOCS_REST_COSTS))
def test_rest_costs_agree_with_the_docs(method: str) -> None:
    expected = DOCS_REST_COSTS[method]
    assert sim.rest_cost(method) == expected
    pair = PAIR if method in client.TRADING_METHODS else None
    assert client.cost_of(method, pair).rest == expected


def test_closed_orders_is_charged_as_history_by_both() -> None:
    # Not a documented figure: the docs do not say whether ClosedOrders is "history". Both models take
    # the stricter reading (cost 2); if one changes its mind the other must be reconsidered.
    assert sim.rest_cost("ClosedOrders") == client.cost_of("ClosedOrders").rest == 2


@pytest.mark.parametrize("action", sorted(DOCS_TRADING_TABLE))
@pytest.mark.parametrize(
    "age",
    [0.0, 1.0, 4.999, 5.0, 7.5, 9.999, 10.0, 14.999, 15.0, 44.0, 45.0, 89.999, 90.0, 299.0, 300.0, 900.0],
)
def test_order_age_costs_agree_with_the_docs_table(action: str, age: float) -> None:
    expected = docs_cost(action, age)
    assert sim.trading_cost(sim.OrderAction(action), age) == expected
    assert client.trading_cost(client.TradingAction(action), age) == expected


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize(("method", "cost"), [("Balance", 1), ("Ledgers", 2)])
def test_the_governor_paces_rest_calls_at_the_documented_rate(tier: str, method: str, cost: int) -> None:
    maximum, decay = DOCS_REST[tier]
    calls = maximum // cost + 6
    sent = governed_send_times(tier, method, calls)
    assert sent == pytest.approx(docs_send_times(maximum, decay, calls, cost), abs=1e-6)


@pytest.mark.parametrize("tier", TIERS)
def test_the_governor_paces_order_adds_per_pair_at_the_documented_rate(tier: str) -> None:
    threshold, decay, _ = DOCS_TRADING[tier]
    calls = threshold + 6
    sent = governed_send_times(tier, "AddOrder", calls, PAIR)
    assert sent == pytest.approx(docs_send_times(threshold, decay, calls), abs=1e-6)


def _refused(counter: sim.RateCounter, cost: int, arrivals: list[float]) -> list[int]:
    return [index for index, at in enumerate(arrivals) if not counter.admit(cost, at)]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize(("method", "cost"), [("Balance", 1), ("Ledgers", 2)])
def test_the_simulator_admits_the_documented_rest_schedule_and_nothing_faster(
    tier: str, method: str, cost: int
) -> None:
    maximum, decay = DOCS_REST[tier]
    burst, calls = maximum // cost, maximum // cost + 6
    schedule = docs_send_times(maximum, decay, calls, cost)
    rule = sim.REST_RULES[sim.Tier(tier)]
    # A microsecond after each documented instant gets in (exactly at it, 1/0.33 s is not a finite number).
    late = [at + (1e-6 if index >= burst else 0) for index, at in enumerate(schedule)]
    assert _refused(sim.RateCounter(rule, START), sim.rest_cost(method), late) == []
    # One call over the burst, or a call a millisecond before a point has decayed, is refused.
    assert _refused(sim.RateCounter(rule, START), cost, [START] * (burst + 1)) == [burst]
    early = [at - (1e-3 if index == burst else 0) for index, at in enumerate(schedule)]
    assert _refused(sim.RateCounter(rule, START), cost, early) == [burst]


@pytest.mark.parametrize("tier", TIERS)
def test_the_simulator_admits_the_documented_trading_schedule_and_nothing_faster(tier: str) -> None:
    threshold, decay, _ = DOCS_TRADING[tier]
    schedule = docs_send_times(threshold, decay, threshold + 6)
    rule = sim.TRADING_RULES[sim.Tier(tier)]
    cost = sim.trading_cost(sim.OrderAction.ADD)
    late = [at + (1e-6 if index >= threshold else 0) for index, at in enumerate(schedule)]
    assert _refused(sim.RateCounter(rule, START), cost, late) == []
    early = [at - (1e-3 if index == threshold else 0) for index, at in enumerate(schedule)]
    assert _refused(sim.RateCounter(rule, START), cost, early) == [threshold]


def gateway_governor(tier: str, time: FakeTime, margin: float = DEFAULT_MARGIN) -> RateGovernor:
    """The governor as the gateway builds it: Kraken's figures less `margin` seconds of decay."""
    return RateGovernor(
        client.Tier(tier),
        rest_limits=gateway_settings.rest_limits(client.Tier(tier), margin),
        trading_limits=gateway_settings.trading_limits(client.Tier(tier), margin),
        clock=time.clock,
        sleep=time.sleep,
    )


def _saturate(tier: str, margin: float, trip: tuple[float, float]) -> list[tuple[float, str]]:
    """Saturate REST and one pair's trading counter through the governor; each call reaches the simulator's
    counters `trip` (min, max) seconds after the governor let it go, in the order the calls left (the gateway
    sends private calls one at a time). Returns the calls the simulator refused."""
    time = FakeTime(START)
    governor = gateway_governor(tier, time, margin)
    rng = random.Random(13)
    rest = sim.RateCounter(sim.REST_RULES[sim.Tier(tier)], START)
    trading = sim.RateCounter(sim.TRADING_RULES[sim.Tier(tier)], START)
    arrivals: list[tuple[float, str]] = []

    async def run() -> None:
        for index in range(400):
            method = ("Balance", "Ledgers", "AddOrder")[index % 3]
            await governor.acquire(method, PAIR if method == "AddOrder" else None)
            arrived = time.now + rng.uniform(*trip)
            arrivals.append((max(arrived, arrivals[-1][0] if arrivals else arrived), method))

    asyncio.run(run())
    assert time.now - START > 100, "the sequence must saturate the REST counter to prove anything"
    refused = []
    for at, method in arrivals:
        if method == "AddOrder":
            admitted = trading.admit(sim.trading_cost(sim.OrderAction.ADD), at)
        else:
            admitted = rest.admit(sim.rest_cost(method), at)
        if not admitted:
            refused.append((at, method))
    return refused


@pytest.mark.parametrize("tier", TIERS)
def test_the_gateways_governor_never_trips_the_simulator_despite_network_jitter(tier: str) -> None:
    """Trips of 5 ms to one margin (1 s) on a loaded machine or a slow network: every call is admitted."""
    assert _saturate(tier, DEFAULT_MARGIN, (0.005, 0.005 + DEFAULT_MARGIN)) == []


@pytest.mark.parametrize("tier", TIERS)
def test_without_a_margin_that_jitter_trips_the_simulator(tier: str) -> None:
    """The margin is what absorbs it: with none, the same trips get calls refused, while steady trips (every
    arrival shifted by the same 300 ms) pass with a millisecond's margin (for float rounding at the boundary)."""
    assert _saturate(tier, 0.0, (0.005, 0.005 + DEFAULT_MARGIN)) != []
    assert _saturate(tier, 0.001, (0.3, 0.3)) == []


def test_add_then_cancel_young_orders_the_governor_never_trips_the_simulator() -> None:
    """A market maker's loop on a Starter pair: add an order, cancel it 2 s later (+1, then +8 by age)."""
    time = FakeTime(START)
    governor = gateway_governor("starter", time)
    counter = sim.RateCounter(sim.TRADING_RULES[sim.Tier.STARTER], START)
    refused: list[str] = []

    async def run() -> None:
        for round_ in range(30):
            await governor.acquire("AddOrder", PAIR)
            placed = time.now
            if not counter.admit(sim.trading_cost(sim.OrderAction.ADD), placed + 0.001):
                refused.append(f"add {round_}")
            time.advance(2.0)
            await governor.acquire("CancelOrder", PAIR, order_age=time.now - placed)
            cost = sim.trading_cost(sim.OrderAction.CANCEL, time.now - placed)
            if not counter.admit(cost, time.now + 0.001):
                refused.append(f"cancel {round_}")
            charged.append(1 + cost)
            spent.append(time.now - START)

    spent: list[float] = []
    charged: list[int] = []
    asyncio.run(run())
    assert refused == []
    # Up to 9 points a round (add +1, cancel +8 under 5 s, +6 under 10 s: a cancel that waited for room is
    # older when it goes, and cheaper). The documented threshold and decay bound any sender: P points in t
    # seconds need 60 + 1 * t >= P; the governor, sending as soon as each call fits (looking again every
    # 0.25 s while a waiting cancel ages), takes no more than that plus the last round's own 2 s wait.
    floor = sum(charged) - 60
    assert any(c < 9 for c in charged), "some cancels waited past 5 s and cost less"
    assert floor <= spent[-1] <= floor + 2.5
