"""The rate governor on virtual time: waits instead of failing, adapts to rejections, never overshoots."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry

from tests.unit.components.kraken.fakes import FakeTime
from tradingbot_components.kraken.limits import REST_LIMITS, TRADING_LIMITS, Tier
from tradingbot_components.kraken.rate_limit import AdaptiveSettings, RateGovernor


def governor(fake_time: FakeTime, tier: Tier = Tier.STARTER, **kwargs: object) -> RateGovernor:
    return RateGovernor(tier, clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)  # type: ignore[arg-type]


async def test_a_burst_up_to_the_max_goes_straight_through(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    waits = [await rate.acquire("Balance") for _ in range(15)]
    assert waits == [0.0] * 15
    assert rate.level() == pytest.approx(15)


async def test_the_next_call_waits_for_decay(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    for _ in range(15):
        await rate.acquire("Balance")
    started = fake_time.now
    waited = await rate.acquire("Balance")
    assert waited == pytest.approx(1 / 0.33)
    assert fake_time.now - started == pytest.approx(1 / 0.33)
    assert rate.level() <= 15 + 1e-9


async def test_history_calls_cost_two(fake_time: FakeTime) -> None:
    rate = governor(fake_time, Tier.PRO)
    await rate.acquire("Ledgers")
    await rate.acquire("QueryTrades")
    assert rate.level() == pytest.approx(4)


async def test_orders_use_the_pair_counter_not_the_rest_counter(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    await rate.acquire("AddOrder", pair="XBTUSD")
    await rate.acquire("CancelOrder", pair="XBTUSD", order_age=2.0)  # cancelling a 2 s old order: +8
    assert rate.level() == 0
    assert rate.level("XBTUSD") == pytest.approx(9)
    assert rate.level("ETHUSD") == 0
    with pytest.raises(ValueError, match="pass pair="):
        await rate.acquire("AddOrder")


async def test_a_waiting_cancel_is_charged_for_the_age_its_order_has_when_it_goes(
    fake_time: FakeTime,
) -> None:
    """Kraken charges a cancel by the order's age on arrival (under 5 s: 8 points, under 10 s: 6). One that
    queues behind a full counter arrives older: charging the age it had when asked would waste capacity."""
    rate = governor(fake_time)  # starter: trading counter max 60, decay 1 point/s
    for _ in range(60):
        await rate.acquire("AddOrder", pair="XBTUSD")
    started = fake_time.now
    waited = await rate.acquire("CancelOrder", pair="XBTUSD", order_age=4.5)
    # Charged as asked (8 points) it would wait 8 s. It goes once its cost fits the room decay has made:
    # 5.5 s in, the order is 10 s old and the cancel costs 5 (it is looked at again every 0.25 s).
    assert waited == pytest.approx(5.5)
    assert fake_time.now - started == pytest.approx(waited)
    assert rate.level("XBTUSD") == pytest.approx(60 - 5.5 + 5)
    # An order already past the last band costs the same however long it waits: no rechecks needed.
    assert await rate.acquire("CancelOrder", pair="XBTUSD", order_age=400) == pytest.approx(0, abs=1e-6)


async def test_public_calls_are_spaced_and_do_not_touch_the_private_counter(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    assert await rate.acquire("Time") == 0
    assert await rate.acquire("Time") == pytest.approx(1.0)
    assert rate.level() == 0


async def test_a_rate_limit_error_fills_the_model_and_lowers_the_cap_for_a_while(fake_time: FakeTime) -> None:
    rate = governor(fake_time, adaptive=AdaptiveSettings(backoff_factor=0.5, recovery_seconds=100))
    rate.observe_errors(["EAPI:Rate limit exceeded"])
    assert rate.level() == 15
    assert rate.effective_max() == pytest.approx(7.5)
    assert rate.headroom()["rest"] == 0
    waited = await rate.acquire("Balance")  # must decay from 15 to below the lowered cap, not just to 14
    assert waited > 20
    fake_time.advance(200)
    assert rate.effective_max() == 15  # recovered


async def test_repeated_rejections_lower_the_cap_down_to_the_floor(fake_time: FakeTime) -> None:
    rate = governor(fake_time, adaptive=AdaptiveSettings(backoff_factor=0.5, floor_fraction=0.4))
    for _ in range(5):
        rate.on_rate_limited()
    assert rate.effective_max() == pytest.approx(15 * 0.4)


async def test_throttled_blocks_until_krakens_timestamp(fake_time: FakeTime) -> None:
    wall = 1_700_000_000.0
    rate = governor(fake_time, wall_clock=lambda: wall)
    rate.observe_errors([f"EService:Throttled: {int(wall) + 30}"])
    assert await rate.acquire("Balance") >= 30


async def test_lockout_stops_private_calls_for_the_lockout_time(fake_time: FakeTime) -> None:
    rate = governor(fake_time, adaptive=AdaptiveSettings(lockout_seconds=900))
    rate.observe_errors(["EGeneral:Temporary lockout"])
    rest = next(s for s in rate.counters() if s.name == "rest")
    assert (rest.blocked_for, rest.blocked_by) == (900, "EGeneral:Temporary lockout")
    assert await rate.acquire("Balance") >= 900


async def test_pair_rejections_back_off_that_pair(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    rate.observe_errors(["EOrder:Rate limit exceeded"], pair="XBTUSD")
    assert rate.level("XBTUSD") == 60
    assert rate.level() == 0
    rate.observe_errors(["EOrder:Insufficient funds"], pair="XBTUSD")  # not a rate signal
    assert rate.effective_max("XBTUSD") < 60


async def test_concurrent_callers_are_served_in_order_without_overshoot(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    done: list[int] = []

    async def call(index: int) -> None:
        await rate.acquire("Balance")
        assert rate.level() <= 15 + 1e-9
        done.append(index)

    await asyncio.gather(*(call(i) for i in range(40)))
    assert done == list(range(40))
    elapsed = fake_time.now - 1_000.0
    assert elapsed == pytest.approx((40 - 15) / 0.33)


async def test_a_cancelled_wait_charges_nothing(fake_time: FakeTime) -> None:
    sleeping = asyncio.Event()

    async def blocking_sleep(seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    rate = RateGovernor(clock=fake_time.clock, sleep=blocking_sleep)
    rate.on_rate_limited()
    level = rate.level()
    task = asyncio.create_task(rate.acquire("Balance"))
    await sleeping.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rate.level() == level


async def test_a_call_that_can_never_fit_is_refused(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    with pytest.raises(ValueError, match="costs 120 points but the trading:XBTUSD counter max is 60"):
        await rate.acquire("AddOrderBatch", pair="XBTUSD", count=120)


async def test_metrics_on_a_private_registry(fake_time: FakeTime) -> None:
    registry = CollectorRegistry()
    main = governor(fake_time, registry=registry, name="main")
    governor(fake_time, registry=registry, name="hedge")  # two governors share one registry
    await main.acquire("Ledgers")
    await main.acquire("AddOrder", pair="XBTUSD")
    labels = {"governor": "main", "counter": "rest"}
    assert registry.get_sample_value("kraken_rate_counter_level", labels) == pytest.approx(2)
    assert registry.get_sample_value("kraken_rate_counter_headroom", labels) == pytest.approx(13)
    assert registry.get_sample_value("kraken_rate_calls_total", labels) == 1
    pair = {"governor": "main", "counter": "trading:XBTUSD"}
    assert registry.get_sample_value("kraken_rate_counter_level", pair) == pytest.approx(1)
    fake_time.advance(3)  # scraped values decay without any call
    assert registry.get_sample_value("kraken_rate_counter_level", labels) == pytest.approx(2 - 0.99)
    assert REGISTRY.get_sample_value("kraken_rate_counter_level", labels) is None


calls = st.sampled_from(["Balance", "Ledgers", "OpenOrders", "AddOrder", "CancelOrder", "rate_limited"])
steps = st.lists(st.tuples(calls, st.floats(min_value=0, max_value=20)), min_size=1, max_size=80)


@settings(max_examples=100, deadline=None)
@given(tier=st.sampled_from(list(Tier)), script=steps)
def test_the_modeled_counters_never_exceed_their_max(tier: Tier, script: list[tuple[str, float]]) -> None:
    async def run() -> None:
        fake_time = FakeTime()
        rate = governor(fake_time, tier)
        rest_max, pair_max = REST_LIMITS[tier].max, TRADING_LIMITS[tier].max
        for method, pause in script:
            fake_time.advance(pause)
            if method == "rate_limited":
                rate.on_rate_limited()
            else:
                await rate.acquire(method, pair="XBTUSD", order_age=pause)
            assert rate.level() <= rest_max + 1e-9
            assert rate.level("XBTUSD") <= pair_max + 1e-9

    asyncio.run(run())


@pytest.mark.parametrize("tier", list(Tier))
async def test_sustained_throughput_tracks_the_decay_rate(tier: Tier) -> None:
    fake_time = FakeTime()
    rate = governor(fake_time, tier)
    limits = REST_LIMITS[tier]
    hours = 3600.0
    admitted = 0
    while fake_time.now - 1_000.0 < hours:
        await rate.acquire("Balance")
        admitted += 1
    sustained = (admitted - limits.max) / hours  # minus the initial burst
    assert sustained >= 0.95 * limits.decay_per_second
    assert sustained <= limits.decay_per_second * 1.001


async def test_a_public_rate_limit_backs_off_public_calls_only(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    rate.observe_errors(["EGeneral:Too many requests"], method="Ticker")
    assert rate.level() == 0
    assert rate.headroom()["public"] == 0


async def test_reading_an_unused_pair_does_not_start_tracking_it(fake_time: FakeTime) -> None:
    rate = governor(fake_time)
    assert rate.level("ETHUSD") == 0
    assert rate.effective_max("ETHUSD") == 60
    assert set(rate.headroom()) == {"rest", "public"}
