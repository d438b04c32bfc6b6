"""Client-side admission control for one Kraken API key: wait for capacity instead of collecting errors.

`RateGovernor` keeps a `DecayingCounter` for private REST, one per pair for the trading engine, and a
polite one for public calls; `acquire()` waits (FIFO per counter) until a call fits, and rejections fed
back through `observe_errors()` fill the model and lower its cap for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from tradingbot_components.kraken.errors import ErrorKind, parse_error
from tradingbot_components.kraken.limits import (
    PUBLIC_LIMITS,
    PUBLIC_METHODS,
    REST_LIMITS,
    TRADING_LIMITS,
    CounterLimits,
    DecayingCounter,
    Tier,
    cost_of,
)
from tradingbot_components.kraken.metrics import register_instance

# How often a waiting order action whose cost falls with the order's age looks at its cost again (seconds).
AGE_RECHECK = 0.25


@dataclass(frozen=True, slots=True)
class AdaptiveSettings:
    """How the governor reacts to a rate-limit error it did not predict."""

    backoff_factor: float = 0.75  # the effective cap shrinks to this fraction of its current value
    floor_fraction: float = 0.5  # ... but never below this fraction of the documented max
    recovery_seconds: float = 120.0  # time for the cap to grow back from the floor to the max
    lockout_seconds: float = 900.0  # EGeneral:Temporary lockout: no calls for this long (docs: ~15 min)

    def __post_init__(self) -> None:
        problems = [
            f"{name}={value}: {rule}"
            for name, value, ok, rule in (
                ("backoff_factor", self.backoff_factor, 0 < self.backoff_factor <= 1, "must be in (0, 1]"),
                ("floor_fraction", self.floor_fraction, 0 < self.floor_fraction <= 1, "must be in (0, 1]"),
                ("recovery_seconds", self.recovery_seconds, self.recovery_seconds > 0, "must be > 0"),
                ("lockout_seconds", self.lockout_seconds, self.lockout_seconds >= 0, "must be >= 0"),
            )
            if not ok
        ]
        if problems:
            raise ValueError("invalid adaptive settings: " + "; ".join(problems))


class _Bucket:
    """A governed counter: the model, an adaptive cap, a block-until time and a FIFO lock."""

    def __init__(self, name: str, limits: CounterLimits, adaptive: AdaptiveSettings, now: float) -> None:
        self.name = name
        self.counter = DecayingCounter(limits, now)
        self.adaptive = adaptive
        self.reduced_cap = limits.max
        self.reduced_at = now
        self.blocked_until = now
        self.blocked_by = ""  # the answer that blocked calls (throttle or lockout), while it lasts
        self.lock = asyncio.Lock()
        self.waited_seconds = 0.0
        self.calls = 0
        self.backoffs = 0  # rate-limit, throttle and lockout reports

    def cap(self, now: float) -> float:
        limits = self.counter.limits
        growth = limits.max * (1 - self.adaptive.floor_fraction) / self.adaptive.recovery_seconds
        return min(limits.max, self.reduced_cap + growth * max(0.0, now - self.reduced_at))

    def seconds_until_fits(self, cost: int, now: float) -> float:
        if now < self.blocked_until:
            return self.blocked_until - now
        return self.counter.seconds_until_fits(cost, now, self.cap(now))

    def on_rate_limited(self, now: float) -> None:
        self.counter.fill(now)
        floor = self.counter.limits.max * self.adaptive.floor_fraction
        self.reduced_cap = max(floor, self.cap(now) * self.adaptive.backoff_factor)
        self.reduced_at = now
        self.backoffs += 1

    def block(self, now: float, seconds: float, why: str) -> None:
        self.counter.fill(now)
        if now + seconds >= self.blocked_until:
            self.blocked_until, self.blocked_by = now + seconds, why
        self.backoffs += 1

    def headroom(self, now: float) -> float:
        if now < self.blocked_until:
            return 0.0
        return max(0.0, self.cap(now) - self.counter.level(now))


class RateGovernor:
    """Admission control for one API key: `await acquire(method, pair)` returns once the call may be sent.

    The modeled counters never exceed their max; a call waits (FIFO per counter) for decay instead.
    Feed rejections back with `observe_errors()` so the model corrects itself.
    """

    def __init__(
        self,
        tier: Tier = Tier.STARTER,
        *,
        rest_limits: CounterLimits | None = None,
        trading_limits: CounterLimits | None = None,
        public_limits: CounterLimits = PUBLIC_LIMITS,
        adaptive: AdaptiveSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        registry: CollectorRegistry | None = None,
        name: str = "default",
    ) -> None:
        self.tier = tier
        self.name = name
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._adaptive = adaptive or AdaptiveSettings()
        self._trading_limits = trading_limits or TRADING_LIMITS[tier]
        now = clock()
        self._rest = _Bucket("rest", rest_limits or REST_LIMITS[tier], self._adaptive, now)
        self._public = _Bucket("public", public_limits, self._adaptive, now)
        self._trading: dict[str, _Bucket] = {}
        if registry is not None:
            register_instance(registry, "kraken_rate_governor", _render_metrics, self)

    def _trading_bucket(self, pair: str) -> _Bucket:
        bucket = self._trading.get(pair)
        if bucket is None:
            bucket = _Bucket(f"trading:{pair}", self._trading_limits, self._adaptive, self._clock())
            self._trading[pair] = bucket
        return bucket

    def _buckets(self) -> list[_Bucket]:
        return [self._rest, self._public, *self._trading.values()]

    async def acquire(
        self, method: str, pair: str | None = None, *, order_age: float | None = None, count: int = 1
    ) -> float:
        """Wait until `method` fits every counter it is charged to, charge it; returns the seconds waited.

        `order_age` is the order's age now; a cancel or amend that waits here is charged for the age it has
        when it is let through (the exchange charges by the age on arrival, and older orders cost less).
        """
        asked = self._clock()
        cost = cost_of(method, pair, order_age=order_age, count=count)
        waited = 0.0
        if cost.public:
            waited += await self._take(self._public, lambda: cost.public, method)
        if cost.rest:
            waited += await self._take(self._rest, lambda: cost.rest, method)
        if cost.trading and cost.pair is not None:

            def trading_now() -> int:
                age = None if order_age is None else order_age + (self._clock() - asked)
                return cost_of(method, pair, order_age=age, count=count).trading

            oldest = cost_of(method, pair, order_age=float("inf"), count=count).trading
            aging = order_age is not None and trading_now() > oldest  # it gets cheaper while it waits
            waited += await self._take(
                self._trading_bucket(cost.pair), trading_now, method, recheck=AGE_RECHECK if aging else None
            )
        return waited

    async def _take(
        self, bucket: _Bucket, cost_now: Callable[[], int], method: str, recheck: float | None = None
    ) -> float:
        """`cost_now()` is asked again on every try (a waiting cancel gets older and cheaper); `recheck` caps a
        sleep so a cost that falls while waiting is seen."""
        limit = bucket.counter.limits.max
        waited = 0.0
        async with bucket.lock:
            while True:
                now = self._clock()
                cost = cost_now()
                if cost > limit:
                    raise ValueError(
                        f"{method} costs {cost} points but the {bucket.name} counter max is {limit}"
                    )
                delay = bucket.seconds_until_fits(cost, now)
                if delay <= 0 and bucket.counter.try_charge(cost, now, bucket.cap(now)):
                    bucket.calls += 1
                    bucket.waited_seconds += waited
                    return waited
                delay = max(delay, 1e-6)
                if recheck is not None:
                    delay = min(delay, recheck)
                await self._sleep(delay)
                waited += delay

    def on_rate_limited(self, pair: str | None = None, *, public: bool = False) -> None:
        """Kraken said a counter is full: model it full and lower its cap for a while.

        The REST counter by default; `pair`'s trading counter; or the public one with `public=True`.
        """
        if public:
            self._public.on_rate_limited(self._clock())
        elif pair is None:
            self._rest.on_rate_limited(self._clock())
        else:
            self._trading_bucket(pair).on_rate_limited(self._clock())

    def on_throttled(self, retry_at: float | None) -> None:
        """`EService:Throttled: <ts>`: no REST calls before that Unix time (1 s if it was missing)."""
        now = self._clock()
        delay = 1.0 if retry_at is None else max(0.0, retry_at - self._wall_clock())
        self._rest.block(now, delay, "EService:Throttled")

    def on_lockout(self) -> None:
        """`EGeneral:Temporary lockout`: stop private REST calls for the configured lockout time."""
        self._rest.block(self._clock(), self._adaptive.lockout_seconds, "EGeneral:Temporary lockout")

    def observe_errors(
        self, errors: Iterable[str], pair: str | None = None, *, method: str | None = None
    ) -> None:
        """Feed a response's error list back into the model (rate limits, throttling, lockout).

        Pass the `method` that got them so a public call's rate limit lands on the public counter.
        """
        for error in map(parse_error, errors):
            if error.kind is ErrorKind.RATE_LIMITED:
                self.on_rate_limited(public=method in PUBLIC_METHODS)
            elif error.kind is ErrorKind.TRADING_RATE_LIMITED:
                if pair is not None:
                    self.on_rate_limited(pair)
                else:  # account-wide (domain) limit, or a pair we were not told: back off every pair
                    for known in list(self._trading):
                        self.on_rate_limited(known)
            elif error.kind is ErrorKind.THROTTLED:
                self.on_throttled(error.retry_at)
            elif error.kind is ErrorKind.LOCKOUT:
                self.on_lockout()

    def counters(self) -> list[CounterState]:
        """A reading of every counter: `rest`, `public`, and `trading:<pair>` for each pair used."""
        now = self._clock()
        return [
            CounterState(
                name=bucket.name,
                level=bucket.counter.level(now),
                max=bucket.counter.limits.max,
                cap=bucket.cap(now),
                headroom=bucket.headroom(now),
                blocked_for=max(0.0, bucket.blocked_until - now),
                blocked_by=bucket.blocked_by if now < bucket.blocked_until else "",
                calls=bucket.calls,
                waited_seconds=bucket.waited_seconds,
                backoffs=bucket.backoffs,
            )
            for bucket in self._buckets()
        ]

    def headroom(self) -> dict[str, float]:
        """Points each counter can take right now, by counter name."""
        return {state.name: state.headroom for state in self.counters()}

    def _reading(self, pair: str | None) -> _Bucket:
        if pair is None:
            return self._rest
        # A pair never used reads as a fresh counter, without starting to track it.
        return self._trading.get(pair) or _Bucket(pair, self._trading_limits, self._adaptive, self._clock())

    def level(self, pair: str | None = None) -> float:
        """The modeled REST counter level, or a pair's trading counter level."""
        return self._reading(pair).counter.level(self._clock())

    def effective_max(self, pair: str | None = None) -> float:
        """The cap `acquire()` currently admits up to (below the max after a rate-limit error)."""
        return self._reading(pair).cap(self._clock())


@dataclass(frozen=True, slots=True)
class CounterState:
    """One counter as the governor models it right now."""

    name: str
    level: float
    max: float
    cap: float  # adaptive: below `max` for a while after a rate-limit error
    headroom: float
    blocked_for: float  # seconds until calls are allowed again (throttle or lockout)
    blocked_by: str  # the answer that blocked them ("" when not blocked)
    calls: int
    waited_seconds: float
    backoffs: int


def _render_metrics(governors: Sequence[RateGovernor]) -> Iterable[Metric]:
    labels = ["governor", "counter"]
    level = GaugeMetricFamily("kraken_rate_counter_level", "Modeled Kraken rate counter level", labels=labels)
    cap = GaugeMetricFamily("kraken_rate_counter_cap", "Cap acquire() admits up to (adaptive)", labels=labels)
    headroom = GaugeMetricFamily("kraken_rate_counter_headroom", "Points that fit right now", labels=labels)
    blocked = GaugeMetricFamily(
        "kraken_rate_counter_blocked_seconds",
        "Seconds until calls are let through again after a throttle or lockout answer (0: not blocked)",
        labels=labels,
    )
    calls = CounterMetricFamily("kraken_rate_calls", "Calls admitted", labels=labels)
    waited = CounterMetricFamily(
        "kraken_rate_wait_seconds", "Seconds spent waiting for capacity", labels=labels
    )
    backoffs = CounterMetricFamily(
        "kraken_rate_backoffs", "Rate-limit, throttle and lockout reports", labels=labels
    )
    for governor in governors:
        for state in governor.counters():
            key = [governor.name, state.name]
            level.add_metric(key, state.level)
            cap.add_metric(key, state.cap)
            headroom.add_metric(key, state.headroom)
            blocked.add_metric(key, state.blocked_for)
            calls.add_metric(key, state.calls)
            waited.add_metric(key, state.waited_seconds)
            backoffs.add_metric(key, state.backoffs)
    return [level, cap, headroom, blocked, calls, waited, backoffs]
