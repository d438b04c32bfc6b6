"""Exponential backoff, shared by startup retries and health recovery.

A pure function so the schedule can be asserted without waiting for it.
"""

from __future__ import annotations


def backoff_delay(attempt: int, *, base: float, cap: float | None = None) -> float:
    """Delay after failed attempt number `attempt` (1-based): base, 2*base, 4*base, ... capped at `cap`."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if base < 0:
        raise ValueError(f"backoff base must be >= 0, got {base}")
    delay: float = base * 2.0 ** (attempt - 1)
    return delay if cap is None else min(delay, cap)
