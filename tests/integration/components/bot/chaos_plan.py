"""A seeded schedule of exchange faults and market moves for the chaos test, and the loop that plays it.

`plan_chaos(rng, seconds)` is pure: the same seed gives the same faults (mode, scope, strength, length) at
the same offsets, so a failing run can be replayed and its schedule printed. `play` applies it through the
simulator's control plane (`POST /_sim/faults`, `POST /_sim/market`), never through the bot's API key.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

from tests.support.sim import SimHandle

# Kraken errors the simulator can inject in place of an answer: rate limits, a stale nonce, and the two
# answers after which an order's fate is unknown.
INJECTED_ERRORS = (
    "EAPI:Rate limit exceeded",
    "EOrder:Rate limit exceeded",
    "EAPI:Invalid nonce",
    "EGeneral:Internal error",
    "EService:Busy",
)
# Not `lockout`: the gateway honours Kraken's lockout as ~15 minutes without private calls whatever the
# simulator's `seconds` says (the governor's `lockout_seconds`), longer than any run here.
FAULT_MODES = (
    "unavailable",
    "http_error",
    "latency",
    "throttled",
    "error",
    "drop_ws",
    "corrupt_checksum",
)


@dataclass(frozen=True)
class FaultStep:
    at: float  # seconds after the chaos started
    body: Mapping[str, Any]  # the `POST /_sim/faults` document

    def describe(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.body.items() if k != "mode")
        return f"{self.at:6.2f}s fault {self.body['mode']}" + (f" ({details})" if details else "")


@dataclass(frozen=True)
class MarketStep:
    """A jump of the fair price to the price the chaos started at times (1 + `change`); with
    `through_exits`, to that fraction above the highest sell the bot has resting, so it fills (below the
    starting price when there is none)."""

    at: float
    change: Decimal
    through_exits: bool = False

    def describe(self) -> str:
        return (
            f"{self.at:6.2f}s market {'through the exits ' if self.through_exits else ''}{self.change:+.4%}"
        )


Step = FaultStep | MarketStep


def fault_body(rng: random.Random, latency_cap: float) -> dict[str, Any]:
    """One fault, drawn from every mode the simulator has; each clears itself after a few seconds."""
    mode = rng.choice(FAULT_MODES)
    scope = rng.choice(("private", "private", "all", "public"))
    lasting = round(rng.uniform(1.0, 6.0), 1)
    if mode == "unavailable":
        return {"mode": mode, "scope": scope, "duration": lasting}
    if mode == "http_error":
        status = rng.choice((500, 502, 503, 504, 520, 522))
        return {"mode": mode, "status": status, "scope": scope, "duration": lasting}
    if mode == "latency":
        # Up to past the gateway's request timeout: some orders then act after their sender gave up.
        seconds = round(rng.uniform(0.2, latency_cap), 2)
        return {
            "mode": mode,
            "seconds": seconds,
            "scope": rng.choice(("private", "all")),
            "duration": lasting,
        }
    if mode == "throttled":
        return {"mode": mode, "seconds": round(rng.uniform(1.0, 3.0), 1), "scope": scope, "duration": lasting}
    if mode == "error":
        error = rng.choice(INJECTED_ERRORS)
        return {
            "mode": mode,
            "error": error,
            "scope": "private",
            "count": rng.randint(1, 6),
            "duration": lasting,
        }
    if mode == "corrupt_checksum":
        return {"mode": mode, "count": rng.randint(1, 3)}
    return {"mode": mode}  # drop_ws: every WebSocket cut at once


def plan_chaos(
    rng: random.Random,
    seconds: float,
    *,
    fault_gap: tuple[float, float] = (1.0, 4.0),
    move_gap: tuple[float, float] = (0.5, 2.5),
    move_range: float = 0.001,
    through_share: float = 0.4,
    latency_cap: float = 3.5,
) -> list[Step]:
    """Faults and market moves at random offsets within `seconds`, in time order. A share of the moves
    goes through the bot's exits, so they keep filling at random moments, faults or not; the others jump
    around the starting price, so it does not drift away (the simulator pulls a price that did back
    towards its start, steadily enough to keep the bot trading long after the chaos)."""
    steps: list[Step] = []
    at = rng.uniform(*fault_gap)
    while at < seconds:
        steps.append(FaultStep(round(at, 2), fault_body(rng, latency_cap)))
        at += rng.uniform(*fault_gap)
    at = rng.uniform(*move_gap)
    while at < seconds:
        if rng.random() < through_share:
            step = MarketStep(round(at, 2), Decimal(str(round(rng.uniform(0, move_range / 2), 5))), True)
        else:
            step = MarketStep(round(at, 2), Decimal(str(round(rng.uniform(-move_range, move_range), 5))))
        steps.append(step)
        at += rng.uniform(*move_gap)
    return sorted(steps, key=lambda step: step.at)


def describe_plan(steps: Sequence[Step]) -> str:
    return "\n".join(step.describe() for step in steps)


@dataclass
class ChaosLog:
    """What a played schedule did."""

    faults: Counter[str] = field(default_factory=Counter)  # by mode
    moves: int = 0
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def play(
    sim: SimHandle,
    pair: str,
    steps: Sequence[Step],
    seconds: float,
    resting_sells: Callable[[], list[Decimal]],
) -> ChaosLog:
    """Apply each step at its offset (a late step is applied at once), then clear every fault.
    `resting_sells` gives the prices of the bot's open sell orders (as the bot shows them)."""
    log = ChaosLog(started=time.monotonic())
    tick = Decimal("0.1")
    base = Decimal(sim.market()[pair]["fair"])
    try:
        for step in steps:
            # Pacing a schedule, not waiting for a result: nothing is asserted after these pauses.
            time.sleep(max(0.0, log.started + step.at - time.monotonic()))
            if isinstance(step, FaultStep):
                sim.fault(**step.body)
                log.faults[str(step.body["mode"])] += 1
            else:
                sells = resting_sells() if step.through_exits else []
                change = step.change if sells or not step.through_exits else -step.change
                target = ((max(sells) if sells else base) * (1 + change)).quantize(tick, rounding=ROUND_UP)
                target += tick if sells else 0
                sim.move_market(pair, str(target))
                log.moves += 1
        time.sleep(max(0.0, log.started + seconds - time.monotonic()))
    finally:
        sim.clear_faults()
        log.ended = time.monotonic()
    return log
