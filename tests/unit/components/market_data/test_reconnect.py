"""Reconnect timing: quick jittered retries after a drop, then exponential backoff with a 5 s floor and a
cap, and never more connection attempts in a rolling 10 minutes than our budget (below Kraken's 150)."""

from __future__ import annotations

import itertools
import random

import pytest

from tradingbot_components.market_data import ConnectionBudget, ReconnectPolicy, next_attempt_delay
from tradingbot_components.market_data.reconnect import KRAKEN_ATTEMPTS_PER_WINDOW, backoff_delay


@pytest.mark.parametrize("seed", range(20))
def test_backoff_follows_krakens_advice(seed: int) -> None:
    """Kraken: after a random drop reconnect at once, a handful of times; after that no more than once
    every 5 s. Ours: 3 quick attempts within a quarter second, then never sooner than 5 s nor later than
    a minute, growing with repeated failures."""
    policy = ReconnectPolicy()
    rng = random.Random(seed)
    quick = [backoff_delay(attempt, policy, rng) for attempt in range(1, 4)]
    assert all(0.0 <= delay <= 0.25 for delay in quick)
    later = [backoff_delay(attempt, policy, rng) for attempt in range(4, 40)]
    assert all(5.0 <= delay <= 60.0 for delay in later)
    assert min(later[-10:]) >= 30.0  # long outages back off to the cap's half at least
    assert later[0] <= 5.0 + 1e-9  # the first slow attempt is at the floor


def test_backoff_is_jittered() -> None:
    policy, rng = ReconnectPolicy(), random.Random(1)
    assert len({round(backoff_delay(6, policy, rng), 6) for _ in range(50)}) > 40
    assert len({round(backoff_delay(1, policy, rng), 6) for _ in range(50)}) > 40


def test_backoff_ceiling_doubles_from_the_floor() -> None:
    policy = ReconnectPolicy(quick_attempts=0, floor=5, cap=60)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [backoff_delay(n, policy, Top()) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_policy_and_budget_validation() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(0, ReconnectPolicy(), random.Random())
    with pytest.raises(ValueError, match="floor"):
        ReconnectPolicy(floor=0)
    with pytest.raises(ValueError, match="Kraken"):
        ConnectionBudget(limit=KRAKEN_ATTEMPTS_PER_WINDOW + 1)


def test_budget_wait_time() -> None:
    budget = ConnectionBudget(limit=3, window=600)
    for at in (0, 10, 20):
        assert budget.wait_time(at) == 0
        budget.record(at)
    assert budget.wait_time(30) == pytest.approx(570, abs=0.01)  # the attempt at 0 leaves at 600
    assert budget.wait_time(600) == 0
    budget.record(600)
    assert budget.wait_time(605) == pytest.approx(5, abs=0.01)  # ... then the one at 10 is the oldest
    assert budget.used(605) == 3


@pytest.mark.parametrize("limit", [3, 20, 100, 150])
def test_a_connection_that_always_fails_stays_inside_the_budget(limit: int) -> None:
    """Simulate hours of failing attempts (each failing after 50 ms) and check every rolling window."""
    policy, budget, rng = ReconnectPolicy(), ConnectionBudget(limit=limit), random.Random(limit)
    now, attempts, failures = 0.0, [], 0
    while now < 4 * 3600:
        if failures:
            now += next_attempt_delay(failures, policy, budget, now, rng)
        attempts.append(now)
        budget.record(now)
        now += 0.05
        failures += 1
    window = budget.window
    start = 0
    for end, moment in enumerate(attempts):
        while attempts[start] <= moment - window:
            start += 1
        assert end - start + 1 <= limit
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert all(gap >= policy.floor for gap in gaps[policy.quick_attempts :])


def test_a_fresh_drop_reconnects_at_once_but_a_flapping_one_slows_down() -> None:
    policy, budget, rng = ReconnectPolicy(), ConnectionBudget(), random.Random(7)
    delays = [next_attempt_delay(n, policy, budget, 0.0, rng) for n in range(1, 8)]
    assert all(d <= policy.quick_jitter for d in delays[:3])
    assert all(d >= policy.floor for d in delays[3:])
