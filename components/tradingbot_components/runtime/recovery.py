"""When to call a recovery handler: right away when a component turns Unhealthy, then with exponential
backoff until an attempt budget runs out. Pure decisions; the monitor performs them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from tradingbot_components.runtime.backoff import backoff_delay


@dataclass(frozen=True)
class RecoveryPolicy:
    max_attempts: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
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
    if state.attempts < policy.max_attempts:
        return RecoveryAction.ATTEMPT
    # The last attempt had its backoff window to work and the component is still unhealthy.
    return RecoveryAction.EXHAUSTED


def after_attempt(policy: RecoveryPolicy, state: RecoveryState, *, now: float) -> RecoveryState:
    attempts = state.attempts + 1
    delay = backoff_delay(attempts, base=policy.backoff_base, cap=policy.backoff_max)
    return replace(state, attempts=attempts, next_attempt_at=now + delay)
