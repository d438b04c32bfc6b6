"""When to reconnect to Kraken's WebSocket: jittered exponential backoff inside Kraken's connection limits.

Kraken's advice: after a random drop reconnect at once, a handful of times; after that (maintenance, a
long outage) no more than once every 5 s. Cloudflare bans an IP for 10 min past ~150 connection attempts
in a rolling 10 min, shared with REST and every other process on that IP, so we keep our own lower budget.
Purely computational: the randomness and the clock are passed in.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

# Cloudflare's limit per IP (kraken-facts §6); our budget stays well below it.
KRAKEN_ATTEMPTS_PER_WINDOW = 150
KRAKEN_WINDOW_SECONDS = 600.0


@dataclass(frozen=True)
class ReconnectPolicy:
    """The backoff schedule. `attempt` counts consecutive failures, from 1."""

    quick_attempts: int = 3  # "reconnect at once, up to a handful of times"
    quick_jitter: float = (
        0.25  # a quick attempt waits uniform(0, quick_jitter) s, so replicas do not stampede
    )
    floor: float = 5.0  # later attempts are at least this far apart (Kraken: once every 5 s at most)
    cap: float = 60.0
    stable_after: float = 30.0  # a connection that lived this long resets the attempt count

    def __post_init__(self) -> None:
        if self.quick_attempts < 0:
            raise ValueError(f"quick_attempts must be >= 0, got {self.quick_attempts}")
        if self.quick_jitter < 0:
            raise ValueError(f"quick_jitter must be >= 0, got {self.quick_jitter}")
        if not 0 < self.floor <= self.cap:
            raise ValueError(f"need 0 < floor <= cap, got floor={self.floor} cap={self.cap}")


def backoff_delay(attempt: int, policy: ReconnectPolicy, rng: random.Random) -> float:
    """Seconds to wait before attempt `attempt + 1` after `attempt` consecutive failures.

    The first `quick_attempts` wait only a little jitter; after that the ceiling doubles from `floor` up to
    `cap` and the delay is drawn from [ceiling/2, ceiling] ("equal jitter"), never below `floor`.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if attempt <= policy.quick_attempts:
        return rng.uniform(0.0, policy.quick_jitter)
    ceiling = min(policy.cap, policy.floor * 2.0 ** (attempt - policy.quick_attempts - 1))
    return max(policy.floor, rng.uniform(ceiling / 2.0, ceiling))


class ConnectionBudget:
    """At most `limit` connection attempts in any rolling `window` seconds (times are the caller's clock)."""

    def __init__(self, limit: int = 100, window: float = KRAKEN_WINDOW_SECONDS) -> None:
        if not 0 < limit <= KRAKEN_ATTEMPTS_PER_WINDOW:
            raise ValueError(f"limit must be in 1..{KRAKEN_ATTEMPTS_PER_WINDOW} (Kraken's), got {limit}")
        if window <= 0:
            raise ValueError(f"window must be > 0 s, got {window}")
        self.limit = limit
        self.window = window
        self._attempts: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self._attempts and self._attempts[0] <= now - self.window:
            self._attempts.popleft()

    def used(self, now: float) -> int:
        """Attempts inside the window that ends at `now`."""
        self._forget(now)
        return len(self._attempts)

    def wait_time(self, at: float) -> float:
        """Seconds after `at` until one more attempt fits in the window (0 when it fits at `at`)."""
        self._forget(at)
        if len(self._attempts) < self.limit:
            return 0.0
        # A millisecond past the moment the oldest counted attempt leaves the window (float-safe).
        return self._attempts[len(self._attempts) - self.limit] + self.window - at + 0.001

    def record(self, at: float) -> None:
        self._attempts.append(at)


def next_attempt_delay(
    attempt: int, policy: ReconnectPolicy, budget: ConnectionBudget, now: float, rng: random.Random
) -> float:
    """The backoff for `attempt`, stretched if the attempt would not fit in the connection budget."""
    delay = backoff_delay(attempt, policy, rng)
    return delay + budget.wait_time(now + delay)
