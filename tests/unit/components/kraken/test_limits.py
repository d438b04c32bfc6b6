"""Kraken's call costs and the decaying counter, as the simulator and the governor both use them."""

from __future__ import annotations

import pytest

from tradingbot_components.kraken.limits import (
    REST_LIMITS,
    TRADING_LIMITS,
    CallCost,
    CounterLimits,
    DecayingCounter,
    Tier,
    TradingAction,
    cost_of,
    trading_cost,
)

# Kraken's published figures (docs.kraken.com, "Spot REST rate limits" and "Spot trading rate limits"):
# tier -> (max, decay per second). Written down here from the documentation, not from our table.
PUBLISHED_REST = {"starter": (15, 0.33), "intermediate": (20, 0.5), "pro": (20, 1.0)}
PUBLISHED_TRADING = {"starter": (60, 1.0), "intermediate": (125, 2.34), "pro": (180, 3.75)}


@pytest.mark.parametrize("tier", list(Tier))
def test_a_fresh_counter_admits_the_published_burst_then_one_call_per_decay(tier: Tier) -> None:
    for table, published in ((REST_LIMITS, PUBLISHED_REST), (TRADING_LIMITS, PUBLISHED_TRADING)):
        burst, decay = published[tier.value]
        counter = DecayingCounter(table[tier], 1000.0)
        assert all(counter.try_charge(1, 1000.0) for _ in range(burst))
        assert not counter.try_charge(1, 1000.0), "one past the published max is refused"
        assert not counter.try_charge(1, 1000.0 + 0.9 / decay), "before one point has decayed"
        assert counter.try_charge(1, 1000.0 + 1.01 / decay), "once one point has decayed"


@pytest.mark.parametrize(
    ("action", "age", "cost"),
    [
        (TradingAction.ADD, None, 1),
        (TradingAction.AMEND, 0.0, 4),
        (TradingAction.AMEND, 5.0, 3),  # "<5 s" is strict: 5 s old is in the next band
        (TradingAction.AMEND, 14.9, 2),
        (TradingAction.AMEND, 15.0, 1),
        (TradingAction.EDIT, 4.0, 7),
        (TradingAction.EDIT, 9.0, 6),
        (TradingAction.EDIT, 12.0, 5),
        (TradingAction.EDIT, 30.0, 3),
        (TradingAction.EDIT, 60.0, 2),
        (TradingAction.EDIT, 90.0, 1),
        (TradingAction.CANCEL, 1.0, 8),
        (TradingAction.CANCEL, 7.0, 6),
        (TradingAction.CANCEL, 14.0, 5),
        (TradingAction.CANCEL, 44.0, 4),
        (TradingAction.CANCEL, 89.0, 2),
        (TradingAction.CANCEL, 299.0, 1),
        (TradingAction.CANCEL, 300.0, 0),
        (TradingAction.CANCEL, None, 8),  # unknown age: charged as the youngest
    ],
)
def test_order_age_penalties(action: TradingAction, age: float | None, cost: int) -> None:
    assert trading_cost(action, age) == cost


def test_which_counter_each_call_is_charged_to() -> None:
    assert cost_of("Balance") == CallCost(rest=1)
    assert cost_of("Ledgers") == CallCost(rest=2)
    assert cost_of("TradesHistory") == CallCost(rest=2)
    assert cost_of("Time") == CallCost(public=1)
    assert cost_of("AddOrder", "XBTUSD") == CallCost(trading=1, pair="XBTUSD")
    assert cost_of("cancel_order", "BTC/USD", order_age=2) == CallCost(trading=8, pair="BTC/USD")
    assert cost_of("AddOrderBatch", "XBTUSD", count=5) == CallCost(rest=1, trading=5, pair="XBTUSD")
    assert cost_of("EditOrder", "XBTUSD", order_age=100) == CallCost(rest=1, trading=1, pair="XBTUSD")
    assert cost_of("amend_order", "BTC/USD", order_age=100) == CallCost(trading=1, pair="BTC/USD")
    assert cost_of("CancelAll") == CallCost(rest=1)


def test_trading_calls_need_their_pair() -> None:
    with pytest.raises(ValueError, match="AddOrder is charged to the per-pair trading counter: pass pair="):
        cost_of("AddOrder")
    with pytest.raises(ValueError, match="count must be >= 1"):
        cost_of("AddOrderBatch", "XBTUSD", count=0)


def test_counter_rejects_over_max_and_decays_linearly() -> None:
    counter = DecayingCounter(CounterLimits(15, 0.33), now=0.0)
    assert all(counter.try_charge(1, now=0.0) for _ in range(15))
    assert not counter.try_charge(1, now=0.0)
    assert counter.seconds_until_fits(1, now=0.0) == pytest.approx(1 / 0.33)
    assert counter.level(now=10.0) == pytest.approx(15 - 3.3)
    assert counter.try_charge(3, now=10.0)
    assert counter.level(now=1000.0) == 0.0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        CounterLimits(0, 1)
