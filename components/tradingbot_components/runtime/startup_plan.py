"""The decisions of an in-process startup: which steps are valid, which may start, which must be skipped.

Purely computational: `startup.py` performs the effects (running handlers, retrying, rolling back).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradingbot_components.runtime.graph import find_cycle, format_path

Hook = Callable[[], Awaitable[Any] | Any]


class Phase(enum.StrEnum):
    """The default phases, in order (DESIGN §3)."""

    CORE = "Core"
    INFRASTRUCTURE = "Infrastructure"
    AUTH = "Auth"
    NETWORK = "Network"
    SERVICES = "Services"

    @property
    def rank(self) -> int:
        """Position in the startup order (Core is 0)."""
        return list(Phase).index(self)


class StepState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped"


class StartupConfigError(ValueError):
    """The declared steps cannot be run: an unknown phase or dependency, a backwards dependency, a cycle."""


@dataclass(frozen=True)
class StepSpec:
    """One step as declared with `StartupSequence.register_step`."""

    name: str
    phase: str
    handler: Hook
    dependencies: tuple[str, ...] = ()
    critical: bool = True
    retries: int = 0
    timeout: float | None = None
    shutdown: Hook | None = None


def check_step(spec: StepSpec, phases: Sequence[str], existing: Iterable[str]) -> None:
    """Reject a step that is wrong on its own, at registration time."""
    if spec.name in existing:
        raise StartupConfigError(f"step {spec.name!r} is registered twice")
    if spec.phase not in phases:
        raise StartupConfigError(
            f"step {spec.name!r}: unknown phase {spec.phase!r} (phases: {', '.join(phases)})"
        )
    if spec.retries < 0:
        raise StartupConfigError(f"step {spec.name!r}: retries must be >= 0, got {spec.retries}")
    if spec.timeout is not None and spec.timeout <= 0:
        raise StartupConfigError(f"step {spec.name!r}: timeout must be > 0, got {spec.timeout}")
    if spec.name in spec.dependencies:
        raise StartupConfigError(f"dependency cycle: {spec.name} -> {spec.name}")


def plan_phases(steps: Mapping[str, StepSpec], phases: Sequence[str]) -> list[list[str]]:
    """Group steps by phase, in phase order, after checking that the dependency graph can be run.

    A dependency must exist and sit in the same or an earlier phase; the graph must be acyclic.
    """
    rank = {phase: index for index, phase in enumerate(phases)}
    for spec in steps.values():
        for dependency in spec.dependencies:
            if dependency not in steps:
                raise StartupConfigError(f"step {spec.name!r} depends on unknown step {dependency!r}")
            needed = steps[dependency]
            if rank[needed.phase] > rank[spec.phase]:
                raise StartupConfigError(
                    f"step {spec.name!r} ({spec.phase}) depends on {dependency!r}, which starts in a "
                    f"later phase ({needed.phase}); move one of them or drop the dependency"
                )
    cycle = find_cycle(sorted(steps), lambda name: steps[name].dependencies)
    if cycle is not None:
        raise StartupConfigError(f"dependency cycle: {format_path(cycle)}")
    return [[name for name, spec in steps.items() if spec.phase == phase] for phase in phases]


@dataclass(frozen=True)
class Moves:
    start: tuple[str, ...]
    skip: dict[str, str]  # step -> the dependency that did not come up


def next_moves(
    candidates: Sequence[str], steps: Mapping[str, StepSpec], states: Mapping[str, StepState]
) -> Moves:
    """Among the pending `candidates`: those whose dependencies are all done may start; those with a
    failed or skipped dependency are skipped (transitively, within this call)."""
    current = dict(states)
    skip: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for name in candidates:
            if current[name] is not StepState.PENDING:
                continue
            blocked = next(
                (d for d in steps[name].dependencies if current[d] in (StepState.FAILED, StepState.SKIPPED)),
                None,
            )
            if blocked is not None:
                current[name] = StepState.SKIPPED
                skip[name] = blocked
                changed = True
    start = tuple(
        name
        for name in candidates
        if current[name] is StepState.PENDING
        and all(current[d] is StepState.DONE for d in steps[name].dependencies)
    )
    return Moves(start=start, skip=skip)
