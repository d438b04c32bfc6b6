"""The circuit breaker's state machine on virtual time, and how Kraken's outcomes count towards it."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.components.kraken.fakes import FakeTime
from tradingbot_components.kraken.breaker import (
    BreakerSettings,
    BreakerState,
    CallVerdict,
    CircuitBreaker,
    CircuitOpen,
    StateChange,
    TransitionReason,
    classify_call,
)

FAIL = CallVerdict.FAILURE
OK = CallVerdict.SUCCESS


def breaker(fake_time: FakeTime, **settings: float) -> tuple[CircuitBreaker, list[StateChange]]:
    changes: list[StateChange] = []
    defaults = {"minimum_calls": 4, "failure_threshold": 0.5, "window": 60, "recovery_timeout": 30}
    instance = CircuitBreaker(
        "kraken-rest",
        BreakerSettings(**{**defaults, **settings}),  # type: ignore[arg-type]
        clock=fake_time.clock,
        on_state_change=changes.append,
    )
    return instance, changes


def run(cb: CircuitBreaker, *verdicts: CallVerdict, duration: float = 0.1) -> None:
    for verdict in verdicts:
        assert cb.allow()
        cb.record(verdict, duration)


def trip(cb: CircuitBreaker) -> None:
    run(cb, FAIL, FAIL, FAIL, FAIL)
    assert cb.state is BreakerState.OPEN


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        ({"errors": ["EService:Unavailable"]}, CallVerdict.FAILURE),
        ({"errors": ["EService:Busy"]}, CallVerdict.FAILURE),
        ({"errors": ["EGeneral:Internal error"]}, CallVerdict.FAILURE),
        ({"http_status": 502}, CallVerdict.FAILURE),
        ({"http_status": 520}, CallVerdict.FAILURE),
        ({"timed_out": True}, CallVerdict.FAILURE),
        ({"errors": ["EAPI:Rate limit exceeded"]}, CallVerdict.BACKOFF),
        ({"errors": ["EGeneral:Temporary lockout"]}, CallVerdict.BACKOFF),
        ({"errors": ["EService:Throttled: 1700000000"]}, CallVerdict.BACKOFF),
        ({"errors": ["EOrder:Rate limit exceeded"]}, CallVerdict.BACKOFF),
        ({"http_status": 429}, CallVerdict.BACKOFF),
        ({"errors": ["EOrder:Insufficient funds"]}, CallVerdict.SUCCESS),
        ({"errors": ["EGeneral:Invalid arguments:volume"]}, CallVerdict.SUCCESS),
        ({"errors": ["EFunding:Unknown withdraw key"]}, CallVerdict.SUCCESS),
        ({"errors": ["EAPI:Invalid nonce"]}, CallVerdict.SUCCESS),
        ({"errors": ["EService:Market in cancel_only mode"]}, CallVerdict.SUCCESS),
        ({"http_status": 200}, CallVerdict.SUCCESS),
        ({"errors": ["EAPI:Rate limit exceeded", "EService:Unavailable"]}, CallVerdict.FAILURE),
    ],
)
def test_kraken_outcomes(outcome: dict[str, object], verdict: CallVerdict) -> None:
    assert classify_call(**outcome) is verdict  # type: ignore[arg-type]


def test_stays_closed_until_the_window_holds_minimum_calls(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time)
    run(cb, FAIL, FAIL, FAIL)
    assert cb.state is BreakerState.CLOSED
    run(cb, FAIL)
    assert cb.state is BreakerState.OPEN
    assert changes == [
        StateChange(
            "kraken-rest", BreakerState.CLOSED, BreakerState.OPEN, TransitionReason.FAILURE_RATE, 1000.0
        )
    ]


def test_trips_on_the_failure_rate_not_on_a_count(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, minimum_calls=10, failure_threshold=0.5)
    run(cb, *[OK] * 6, *[FAIL] * 4)
    assert cb.state is BreakerState.CLOSED  # 40 %
    run(cb, FAIL, FAIL)
    assert cb.state is BreakerState.OPEN  # 6 of 12


def test_consecutive_failures_trip_after_a_busy_minute(fake_time: FakeTime) -> None:
    """Issue 12: 40 successes then an outage; the rate stays low, the streak opens the circuit."""
    cb, changes = breaker(fake_time, minimum_calls=5, consecutive_failures=5)
    run(cb, *[OK] * 40)
    for _ in range(4):
        fake_time.advance(3)
        run(cb, FAIL)
    assert cb.state is BreakerState.CLOSED
    assert cb.failure_streak == 4
    fake_time.advance(3)
    run(cb, FAIL)
    assert cb.state is BreakerState.OPEN
    assert changes[-1].reason is TransitionReason.CONSECUTIVE_FAILURES
    assert cb.failure_streak == 0
    assert not cb.allow()


def test_without_the_consecutive_rule_earlier_successes_mask_an_outage(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, minimum_calls=5)
    run(cb, *[OK] * 40, *[FAIL] * 12)
    assert cb.state is BreakerState.CLOSED  # 12 of 52: the rate rule alone does not fire


def test_a_success_ends_the_streak(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, minimum_calls=100, consecutive_failures=3)
    run(cb, FAIL, FAIL, OK, FAIL, FAIL)
    assert cb.state is BreakerState.CLOSED
    assert cb.failure_streak == 2
    cb.record_call(errors=["EOrder:Insufficient funds"])  # a business rejection is a sane answer
    assert cb.failure_streak == 0
    run(cb, FAIL, FAIL)
    assert cb.state is BreakerState.CLOSED


def test_back_off_answers_neither_count_nor_end_a_streak(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, minimum_calls=100, consecutive_failures=3)
    run(cb, FAIL, FAIL)
    for _ in range(50):
        assert cb.allow()
        cb.record_call(errors=["EAPI:Rate limit exceeded"])
        cb.record_call(errors=["EGeneral:Temporary lockout"])
        cb.record_call(http_status=429)
    assert cb.state is BreakerState.CLOSED
    assert cb.failure_streak == 2
    cb.record_call(errors=["EService:Unavailable"])
    assert cb.state is BreakerState.OPEN
    assert changes[-1].reason is TransitionReason.CONSECUTIVE_FAILURES


def test_the_streak_outlives_the_window(fake_time: FakeTime) -> None:
    """A quiet bot's failures are still in a row: no success came between them."""
    cb, _ = breaker(fake_time, minimum_calls=100, consecutive_failures=3, window=60)
    run(cb, FAIL, FAIL)
    fake_time.advance(120)
    run(cb, FAIL)
    assert cb.state is BreakerState.OPEN


def test_the_rate_rule_still_fires_without_a_streak(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, minimum_calls=4, consecutive_failures=5)
    run(cb, OK, FAIL, OK, FAIL)  # 2 of 4, never two in a row
    assert cb.state is BreakerState.OPEN
    assert changes[-1].reason is TransitionReason.FAILURE_RATE


def test_half_open_after_a_streak_trip_probes_as_before(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, minimum_calls=100, consecutive_failures=2, recovery_timeout=30)
    run(cb, OK, FAIL, FAIL)
    assert cb.state is BreakerState.OPEN
    fake_time.advance(30)
    assert cb.allow()
    cb.record(FAIL)  # one failed probe reopens, whatever the streak rule says
    assert changes[-1].reason is TransitionReason.PROBE_FAILED
    fake_time.advance(30)
    assert cb.allow()
    cb.record(OK)
    assert cb.state is BreakerState.CLOSED
    run(cb, FAIL)  # the streak starts afresh after closing
    assert cb.state is BreakerState.CLOSED
    assert cb.failure_streak == 1


def test_rate_limits_and_lockouts_never_trip(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time)
    for _ in range(100):
        assert cb.allow()
        cb.record_call(errors=["EAPI:Rate limit exceeded"])
        cb.record_call(errors=["EGeneral:Temporary lockout"])
    assert cb.state is BreakerState.CLOSED
    assert cb.rates() == (0.0, 0.0, 0)


def test_business_rejections_count_as_healthy_calls(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, minimum_calls=4)
    for _ in range(3):
        cb.record_call(errors=["EOrder:Insufficient funds"])
    cb.record_call(errors=["EService:Unavailable"])
    assert cb.state is BreakerState.CLOSED
    assert cb.rates() == (0.25, 0.0, 4)


def test_failures_slide_out_of_the_window(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, window=60)
    run(cb, FAIL, FAIL, FAIL)
    fake_time.advance(61)
    run(cb, FAIL, OK, OK)
    assert cb.state is BreakerState.CLOSED
    assert cb.rates()[2] == 3


def test_trips_on_slow_calls(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, slow_call_threshold=0.75, slow_call_duration=2.0)
    run(cb, OK, OK, OK, duration=5.0)
    run(cb, OK, duration=0.1)
    assert cb.state is BreakerState.OPEN
    assert changes[-1].reason is TransitionReason.SLOW_CALL_RATE


def test_open_refuses_calls_and_says_when_to_retry(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, recovery_timeout=30)
    trip(cb)
    fake_time.advance(10)
    assert not cb.allow()
    with pytest.raises(CircuitOpen, match=r"circuit 'kraken-rest' is open.*next probe in 20.0s") as caught:
        cb.check()
    assert caught.value.retry_after == pytest.approx(20)


def test_half_open_lets_limited_probes_through_then_closes(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, half_open_calls=2)
    trip(cb)
    fake_time.advance(30)
    assert cb.allow() and cb.allow()
    assert cb.state is BreakerState.HALF_OPEN
    assert not cb.allow()  # both probe slots taken
    cb.record(OK)
    assert cb.state is BreakerState.HALF_OPEN
    cb.record(OK)
    assert cb.state is BreakerState.CLOSED
    assert [c.reason for c in changes] == [
        TransitionReason.FAILURE_RATE,
        TransitionReason.RECOVERY_TIMEOUT,
        TransitionReason.PROBES_SUCCEEDED,
    ]


def test_a_failed_probe_reopens_for_another_recovery_timeout(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time)
    trip(cb)
    fake_time.advance(30)
    assert cb.allow()
    cb.record_call(errors=["EService:Unavailable"])
    assert cb.state is BreakerState.OPEN
    assert changes[-1].reason is TransitionReason.PROBE_FAILED
    assert cb.retry_after() == 30


def test_a_slow_probe_reopens(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time, slow_call_duration=2.0)
    trip(cb)
    fake_time.advance(30)
    assert cb.allow()
    cb.record(OK, duration=3.0)
    assert changes[-1].reason is TransitionReason.PROBE_SLOW


def test_a_rate_limited_probe_frees_its_slot_without_deciding(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time)
    trip(cb)
    fake_time.advance(30)
    assert cb.allow()
    assert cb.record_call(errors=["EAPI:Rate limit exceeded"]) is CallVerdict.BACKOFF
    assert cb.state is BreakerState.HALF_OPEN
    assert cb.allow()


def test_late_results_from_before_the_trip_are_ignored(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time)
    trip(cb)
    cb.record(OK)  # a call that was in flight when the breaker opened
    assert cb.state is BreakerState.OPEN
    fake_time.advance(30)
    cb.allow()
    cb.record(OK)
    cb.record(OK)  # more results than probes
    assert cb.state is BreakerState.CLOSED


def test_settings_update_live(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time, recovery_timeout=300)
    trip(cb)
    cb.update(recovery_timeout=5, failure_threshold=0.9)
    fake_time.advance(5)
    assert cb.allow()
    assert cb.settings.failure_threshold == 0.9


def test_bad_settings_are_all_reported_at_once(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time)
    with pytest.raises(ValueError, match=r"failure_threshold=1.5: must be in \(0, 1\]; recovery_timeout=-1"):
        cb.update(failure_threshold=1.5, recovery_timeout=-1)
    with pytest.raises(ValueError, match=r"consecutive_failures=0: must be >= 1"):
        cb.update(consecutive_failures=0)
    with pytest.raises(ValueError, match=r"unknown breaker settings \['treshold'\]"):
        cb.update(treshold=0.5)
    assert cb.settings.failure_threshold == 0.5  # unchanged


def test_reset_closes_and_forgets(fake_time: FakeTime) -> None:
    cb, changes = breaker(fake_time)
    trip(cb)
    cb.reset()
    assert cb.state is BreakerState.CLOSED
    assert changes[-1].reason is TransitionReason.RESET


def test_a_broken_listener_does_not_wedge_the_breaker(fake_time: FakeTime) -> None:
    cb, _ = breaker(fake_time)

    def broken(change: StateChange) -> None:
        raise RuntimeError("listener bug")

    cb.add_listener(broken)
    trip(cb)


def test_metrics_on_a_private_registry(fake_time: FakeTime) -> None:
    registry = CollectorRegistry()
    rest = CircuitBreaker("rest", BreakerSettings(minimum_calls=2), clock=fake_time.clock, registry=registry)
    ws = CircuitBreaker("ws", clock=fake_time.clock, registry=registry)  # a second one on the same registry
    run(rest, FAIL, FAIL)
    assert not rest.allow()
    assert registry.get_sample_value("kraken_breaker_state", {"breaker": "rest", "state": "open"}) == 1
    assert registry.get_sample_value("kraken_breaker_state", {"breaker": ws.name, "state": "closed"}) == 1
    assert (
        registry.get_sample_value("kraken_breaker_calls_total", {"breaker": "rest", "verdict": "failure"})
        == 2
    )
    assert (
        registry.get_sample_value("kraken_breaker_transitions_total", {"breaker": "rest", "state": "open"})
        == 1
    )
    assert registry.get_sample_value("kraken_breaker_rejected_total", {"breaker": "rest"}) == 1
    assert registry.get_sample_value("kraken_breaker_failure_streak", {"breaker": "rest"}) == 0
