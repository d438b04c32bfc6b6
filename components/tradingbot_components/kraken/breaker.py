"""A circuit breaker for calls to Kraken: closed, open, half-open, on sliding-window failure and slow rates
and on a run of consecutive failures, whichever fires first.

The rate rules alone miss an outage that follows a busy minute: the window's earlier successes keep the
failure rate low while every new call fails. The consecutive rule opens the circuit on the streak itself.

Kraken-aware: rate limits and lockouts are back-off signals (for the governor), not failures; only the
exchange being unwell (`EService:Unavailable`/`Busy`, HTTP 5xx/520, timeouts) trips it, and business
rejections (`EOrder:*`, `EGeneral:Invalid arguments`, ...) count as successful calls (and end a failure
streak). A back-off answer neither extends nor ends a streak.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from tradingbot_components.kraken.errors import is_backoff, is_exchange_fault, parse_error
from tradingbot_components.kraken.metrics import register_instance

log = logging.getLogger(__name__)


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallVerdict(enum.StrEnum):
    """What one call's outcome means to the breaker."""

    SUCCESS = "success"  # includes business rejections: Kraken answered sanely
    FAILURE = "failure"  # the exchange is unwell: counts towards tripping
    BACKOFF = "backoff"  # rate-limited or locked out: slow down, but the exchange is fine


class TransitionReason(enum.StrEnum):
    FAILURE_RATE = "failure_rate_exceeded"
    CONSECUTIVE_FAILURES = "consecutive_failures"
    SLOW_CALL_RATE = "slow_call_rate_exceeded"
    RECOVERY_TIMEOUT = "recovery_timeout_elapsed"
    PROBES_SUCCEEDED = "probes_succeeded"
    PROBE_FAILED = "probe_failed"
    PROBE_SLOW = "probe_slow"
    RESET = "reset"


def classify_call(
    *, errors: Iterable[str] = (), http_status: int | None = None, timed_out: bool = False
) -> CallVerdict:
    """The breaker's verdict on one call, from its transport outcome and Kraken's `error` list."""
    if timed_out or (http_status is not None and http_status >= 500):
        return CallVerdict.FAILURE  # includes Cloudflare's 520
    kinds = [parse_error(text).kind for text in errors]
    if any(is_exchange_fault(kind) for kind in kinds):
        return CallVerdict.FAILURE
    if http_status == 429 or any(is_backoff(kind) for kind in kinds):
        return CallVerdict.BACKOFF
    return CallVerdict.SUCCESS


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """Thresholds are rates in (0, 1]; durations are seconds. Validated as a whole."""

    failure_threshold: float = 0.5  # trip when this share of calls in the window failed
    slow_call_threshold: float = 1.0  # trip when this share of calls in the window was slow
    slow_call_duration: float = 10.0  # a call slower than this is slow
    window: float = 60.0  # sliding time window the rates are computed over
    minimum_calls: int = 10  # no verdict until the window holds this many calls
    consecutive_failures: int | None = None  # trip after this many failures in a row (None: rates only)
    recovery_timeout: float = 30.0  # stay open this long, then let probes through
    half_open_calls: int = 1  # probes allowed at once; this many successes close the breaker

    def __post_init__(self) -> None:
        checks = (
            ("failure_threshold", 0 < self.failure_threshold <= 1, "must be in (0, 1]"),
            ("slow_call_threshold", 0 < self.slow_call_threshold <= 1, "must be in (0, 1]"),
            ("slow_call_duration", self.slow_call_duration > 0, "must be > 0"),
            ("window", self.window > 0, "must be > 0"),
            ("minimum_calls", self.minimum_calls >= 1, "must be >= 1"),
            (
                "consecutive_failures",
                self.consecutive_failures is None or self.consecutive_failures >= 1,
                "must be >= 1 (or None)",
            ),
            ("recovery_timeout", self.recovery_timeout >= 0, "must be >= 0"),
            ("half_open_calls", self.half_open_calls >= 1, "must be >= 1"),
        )
        problems = [f"{name}={getattr(self, name)!r}: {rule}" for name, ok, rule in checks if not ok]
        if problems:
            raise ValueError("invalid breaker settings: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class StateChange:
    breaker: str
    previous: BreakerState
    current: BreakerState
    reason: TransitionReason
    at: float  # the breaker's clock


class CircuitOpen(Exception):
    """A call was refused because the breaker is open (or its probes are all in flight)."""

    def __init__(self, breaker: str, state: BreakerState, retry_after: float) -> None:
        self.breaker = breaker
        self.state = state
        self.retry_after = retry_after
        super().__init__(
            f"circuit '{breaker}' is {state}: Kraken looked unhealthy; next probe in {retry_after:.1f}s"
        )


Listener = Callable[[StateChange], None]


class CircuitBreaker:
    """Guards one dependency (e.g. Kraken private REST). Ask `allow()` before a call, `record...()` after.

    Transitions happen on those calls (no background timer): an open breaker turns half-open at the first
    `allow()` after `recovery_timeout`. Settings can be changed live with `update()`.
    """

    def __init__(
        self,
        name: str = "kraken",
        settings: BreakerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        registry: CollectorRegistry | None = None,
        on_state_change: Listener | None = None,
    ) -> None:
        self.name = name
        self._settings = settings or BreakerSettings()
        self._clock = clock
        self._lock = threading.RLock()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._calls: deque[tuple[float, bool, bool]] = deque()  # (at, failed, slow)
        self._failures = 0
        self._slow = 0
        self._streak = 0  # failures since the last success, across the window's edge
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._listeners: list[Listener] = [on_state_change] if on_state_change else []
        self.verdicts: dict[CallVerdict, int] = dict.fromkeys(CallVerdict, 0)
        self.transitions: dict[BreakerState, int] = dict.fromkeys(BreakerState, 0)
        self.rejected = 0
        if registry is not None:
            register_instance(registry, "kraken_circuit_breaker", _render_metrics, self)

    @property
    def settings(self) -> BreakerSettings:
        return self._settings

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker reports open until `allow()` moves it to half-open)."""
        return self._state

    @property
    def failure_streak(self) -> int:
        """Failures recorded in a row while closed (a success, or any transition, resets it)."""
        return self._streak

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def update(self, **changes: Any) -> BreakerSettings:
        """Change settings live, e.g. `update(failure_threshold=0.3, recovery_timeout=60)`.

        A lowered `consecutive_failures` takes effect at the next recorded failure.
        """
        known = [field.name for field in dataclasses.fields(BreakerSettings)]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown breaker settings {unknown}; known: {known}")
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)
            return self._settings

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when it would now)."""
        with self._lock:
            if self._state is not BreakerState.OPEN:
                return 0.0
            return max(0.0, self._opened_at + self._settings.recovery_timeout - self._clock())

    def allow(self) -> bool:
        """Whether a call may go out now. In half-open, a True is a probe slot: record its outcome."""
        with self._lock:
            if self._state is BreakerState.OPEN and self.retry_after() <= 0:
                self._transition(BreakerState.HALF_OPEN, TransitionReason.RECOVERY_TIMEOUT)
            if self._state is BreakerState.CLOSED:
                return True
            if (
                self._state is BreakerState.HALF_OPEN
                and self._probes_in_flight < self._settings.half_open_calls
            ):
                self._probes_in_flight += 1
                return True
            self.rejected += 1
            return False

    def check(self) -> None:
        """`allow()`, raising `CircuitOpen` (with the wait) instead of returning False."""
        if not self.allow():
            raise CircuitOpen(self.name, self._state, self.retry_after())

    def record_call(
        self,
        *,
        errors: Iterable[str] = (),
        http_status: int | None = None,
        timed_out: bool = False,
        duration: float = 0.0,
    ) -> CallVerdict:
        """Classify a finished call (see `classify_call`), record it, and return the verdict."""
        verdict = classify_call(errors=errors, http_status=http_status, timed_out=timed_out)
        self.record(verdict, duration)
        return verdict

    def record(self, verdict: CallVerdict, duration: float = 0.0) -> None:
        """Record a finished call that `allow()` let through."""
        with self._lock:
            self.verdicts[verdict] += 1
            slow = duration >= self._settings.slow_call_duration
            if self._state is BreakerState.HALF_OPEN:
                self._record_probe(verdict, slow)
            elif self._state is BreakerState.CLOSED and verdict is not CallVerdict.BACKOFF:
                self._record_closed(verdict is CallVerdict.FAILURE, slow)
            # In OPEN: a call that started before the trip; it says nothing new.

    def _record_probe(self, verdict: CallVerdict, slow: bool) -> None:
        if self._probes_in_flight == 0:
            return  # a call from before the trip, not a probe
        self._probes_in_flight -= 1
        if verdict is CallVerdict.FAILURE:
            self._transition(BreakerState.OPEN, TransitionReason.PROBE_FAILED)
        elif verdict is CallVerdict.SUCCESS and slow:
            self._transition(BreakerState.OPEN, TransitionReason.PROBE_SLOW)
        elif verdict is CallVerdict.SUCCESS:
            self._probe_successes += 1
            if self._probe_successes >= self._settings.half_open_calls:
                self._transition(BreakerState.CLOSED, TransitionReason.PROBES_SUCCEEDED)

    def _record_closed(self, failed: bool, slow: bool) -> None:
        now = self._clock()
        self._calls.append((now, failed, slow))
        self._failures += failed
        self._slow += slow
        self._streak = self._streak + 1 if failed else 0
        self._evict(now)
        limit = self._settings.consecutive_failures
        if limit is not None and self._streak >= limit:
            self._transition(BreakerState.OPEN, TransitionReason.CONSECUTIVE_FAILURES)
            return
        total = len(self._calls)
        if total < self._settings.minimum_calls:
            return
        if self._failures / total >= self._settings.failure_threshold:
            self._transition(BreakerState.OPEN, TransitionReason.FAILURE_RATE)
        elif self._slow / total >= self._settings.slow_call_threshold:
            self._transition(BreakerState.OPEN, TransitionReason.SLOW_CALL_RATE)

    def _evict(self, now: float) -> None:
        horizon = now - self._settings.window
        calls = self._calls
        while calls and calls[0][0] <= horizon:
            _, failed, slow = calls.popleft()
            self._failures -= failed
            self._slow -= slow

    def rates(self) -> tuple[float, float, int]:
        """(failure rate, slow-call rate, calls) over the current window; rates are 0 with no calls."""
        with self._lock:
            self._evict(self._clock())
            total = len(self._calls)
            if not total:
                return 0.0, 0.0, 0
            return self._failures / total, self._slow / total, total

    def reset(self) -> None:
        """Close the breaker and forget the window (an operator's override)."""
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                self._transition(BreakerState.CLOSED, TransitionReason.RESET)
            self._clear_window()

    def _clear_window(self) -> None:
        self._calls.clear()
        self._failures = self._slow = self._streak = 0
        self._probes_in_flight = self._probe_successes = 0

    def _transition(self, new: BreakerState, reason: TransitionReason) -> None:
        previous, now = self._state, self._clock()
        self._state = new
        self._clear_window()
        if new is BreakerState.OPEN:
            self._opened_at = now
        self.transitions[new] += 1
        change = StateChange(self.name, previous, new, reason, now)
        log.info("circuit %s: %s -> %s (%s)", self.name, previous, new, reason)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a broken listener must not wedge the breaker
                log.exception("circuit %s: state-change listener failed", self.name)


def _render_metrics(breakers: Sequence[CircuitBreaker]) -> Iterable[Metric]:
    state = GaugeMetricFamily(
        "kraken_breaker_state", "1 for the breaker's current state", labels=["breaker", "state"]
    )
    failure_rate = GaugeMetricFamily(
        "kraken_breaker_failure_rate", "Failure rate in the window", labels=["breaker"]
    )
    slow_rate = GaugeMetricFamily(
        "kraken_breaker_slow_call_rate", "Slow-call rate in the window", labels=["breaker"]
    )
    calls = CounterMetricFamily(
        "kraken_breaker_calls", "Recorded calls by verdict", labels=["breaker", "verdict"]
    )
    transitions = CounterMetricFamily(
        "kraken_breaker_transitions", "State changes by new state", labels=["breaker", "state"]
    )
    rejected = CounterMetricFamily("kraken_breaker_rejected", "Calls refused while open", labels=["breaker"])
    streak = GaugeMetricFamily(
        "kraken_breaker_failure_streak", "Failures in a row since the last success", labels=["breaker"]
    )
    for breaker in breakers:
        failures, slow, _ = breaker.rates()
        for member in BreakerState:
            state.add_metric([breaker.name, member.value], 1.0 if breaker.state is member else 0.0)
            transitions.add_metric([breaker.name, member.value], breaker.transitions[member])
        for verdict in CallVerdict:
            calls.add_metric([breaker.name, verdict.value], breaker.verdicts[verdict])
        failure_rate.add_metric([breaker.name], failures)
        slow_rate.add_metric([breaker.name], slow)
        rejected.add_metric([breaker.name], breaker.rejected)
        streak.add_metric([breaker.name], breaker.failure_streak)
    return [state, failure_rate, slow_rate, calls, transitions, rejected, streak]
