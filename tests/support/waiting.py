"""Deadline polling for tests: wait for a condition instead of sleeping for a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The condition did not hold before the deadline; carries the last value seen for the report."""


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, interval: float = 0.1, what: str = "condition"
) -> T:
    """Call `probe` until it returns something truthy and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)


async def async_wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """The asyncio twin of `wait_until`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval)


def settle(check: Callable[[], list[str]], *, timeout: float, interval: float = 0.5, what: str) -> None:
    """Poll `check` (which lists what is still wrong) until it lists nothing; fail with its last list."""
    problems: list[str] = []

    def probe() -> bool:
        nonlocal problems
        problems = check()
        return not problems

    try:
        wait_until(probe, timeout=timeout, interval=interval, what=what)
    except WaitTimeout:
        raise WaitTimeout(f"{what} did not hold within {timeout}s:\n  " + "\n  ".join(problems)) from None
