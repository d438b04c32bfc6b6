"""When to call a recovery handler: right away when a component turns Unhealthy, then with exponential
backoff until an attempt budget runs out (or never, for a budget of None). Pure decisions; the monitor
performs them. A handler that knows recovery cannot work yet raises `RecoveryDeferred(delay)` (kopf's
`TemporaryError` idea): no attempt is spent, and the next call comes `delay` seconds later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from tradingbot_components.runtime.backoff import backoff_delay


class RecoveryDeferred(Exception):
    """Raised by a recovery handler: nothing to try before `delay` seconds (e.g. a circuit still open)."""

    def __init__(self, message: str, delay: float) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True)
class RecoveryPolicy:
    max_attempts: int | None = 3  # None: keep trying while the component is unhealthy
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must be >= 0")


@dataclass(frozen=True)
class RecoveryState:
    attempts: int = 0
    next_attempt_at: float = 0.0
    exhausted: bool = False  # the budget ran out and that has been reported


class RecoveryAction(enum.StrEnum):
    WAIT = "wait"
    ATTEMPT = "attempt"
    EXHAUSTED = "exhausted"  # report once that the budget is spent
    RESET = "reset"  # the component is no longer unhealthy: start afresh next time


def decide_recovery(
    policy: RecoveryPolicy, state: RecoveryState, *, unhealthy: bool, now: float
) -> RecoveryAction:
    if not unhealthy:
        return RecoveryAction.RESET if state != RecoveryState() else RecoveryAction.WAIT
    if state.exhausted or now < state.next_attempt_at:
        return RecoveryAction.WAIT
    if policy.max_attempts is None or state.attempts < policy.max_attempts:
        return RecoveryAction.ATTEMPT
    # The last attempt had its backoff window to work and the component is still unhealthy.
    return RecoveryAction.EXHAUSTED


def deferred(state: RecoveryState, delay: float, *, now: float) -> RecoveryState:
    """The handler said "not before `delay` s": the same attempts, a later next attempt."""
    return replace(state, next_attempt_at=now + delay)


def after_attempt(policy: RecoveryPolicy, state: RecoveryState, *, now: float) -> RecoveryState:
    attempts = state.attempts + 1
    delay = backoff_delay(attempts, base=policy.backoff_base, cap=policy.backoff_max)
    return replace(state, attempts=attempts, next_attempt_at=now + delay)
