"""The in-process startup sequence: phased steps with dependencies, retries, rollback and graceful stop.

Phases run in order; inside a phase a step starts as soon as its dependencies are done. What may run
next is decided by `startup_plan`; this module runs the handlers and keeps the books.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.invocation import call_hook, describe_error
from tradingbot_components.runtime.startup_plan import (
    Hook,
    Phase,
    StartupConfigError,
    StepSpec,
    StepState,
    check_step,
    next_moves,
    plan_phases,
)

log = logging.getLogger(__name__)


class StepTimeout(TimeoutError):
    """One attempt of a step ran past its `timeout`."""


class StartupFailed(Exception):
    """A critical step failed (after its retries); everything that had started was rolled back."""

    def __init__(
        self,
        step: str,
        phase: str,
        cause: BaseException,
        attempts: int,
        rolled_back: Sequence[str],
        rollback_errors: dict[str, str],
    ) -> None:
        self.step, self.phase, self.cause, self.attempts = step, phase, cause, attempts
        self.rolled_back = tuple(rolled_back)
        self.rollback_errors = dict(rollback_errors)
        tries = f"after {attempts} attempts" if attempts > 1 else "on its only attempt"
        message = f"startup failed at step {step!r} ({phase}) {tries}: {describe_error(cause)}"
        message += f"; rolled back: {', '.join(rolled_back) or 'nothing'}"
        if rollback_errors:
            problems = "; ".join(f"{name}: {error}" for name, error in rollback_errors.items())
            message += f"; rollback problems: {problems}"
        super().__init__(message)


@dataclass(frozen=True)
class StepStatus:
    name: str
    phase: str
    critical: bool
    state: StepState
    attempts: int
    error: str | None
    duration: float | None  # seconds the step ran (so far, while running)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phase": self.phase,
            "critical": self.critical,
            "state": str(self.state),
            "attempts": self.attempts,
            "error": self.error,
            "duration": self.duration,
        }


@dataclass(frozen=True)
class ShutdownReport:
    stopped: tuple[str, ...]  # in the order they were stopped
    failed: dict[str, str]  # step -> why its shutdown raised
    unfinished: tuple[str, ...]  # still running (or never reached) when the grace period ran out

    @property
    def clean(self) -> bool:
        return not self.failed and not self.unfinished


@dataclass
class _Run:
    state: StepState = StepState.PENDING
    attempts: int = 0
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    cause: BaseException | None = field(default=None, repr=False)


class StartupSequence:
    """Declare steps with `register_step`, then `await start()`; `await shutdown(grace)` on the way out."""

    def __init__(
        self,
        phases: Sequence[str] = tuple(Phase),
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        rollback_grace: float = 30.0,
    ) -> None:
        if len(set(phases)) != len(phases) or not phases:
            raise StartupConfigError(f"phases must be distinct and non-empty, got {list(phases)}")
        self.phases: tuple[str, ...] = tuple(phases)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rollback_grace = rollback_grace
        self._steps: dict[str, StepSpec] = {}
        self._runs: dict[str, _Run] = {}
        self._completed: list[str] = []  # done steps, in completion order
        self._start_task: asyncio.Task[Any] | None = None
        self._started = False

    def register_step(
        self,
        name: str,
        phase: str,
        handler: Hook,
        dependencies: Iterable[str] = (),
        critical: bool = True,
        retries: int = 0,
        timeout: float | None = None,
        shutdown: Hook | None = None,
    ) -> None:
        if self._started:
            raise StartupConfigError(f"cannot register step {name!r}: the sequence has already started")
        spec = StepSpec(name, str(phase), handler, tuple(dependencies), critical, retries, timeout, shutdown)
        check_step(spec, self.phases, self._steps)
        self._steps[name] = spec
        self._runs[name] = _Run()

    def validate(self) -> list[list[str]]:
        """The steps of each phase, in phase order; raises `StartupConfigError` if they cannot run."""
        return plan_phases(self._steps, self.phases)

    async def start(self) -> None:
        """Run every phase; raise `StartupFailed` (after rolling back) when a critical step fails."""
        if self._started:
            raise StartupConfigError("the sequence was already started; build a new one to start again")
        plan = self.validate()
        self._started = True
        self._start_task = asyncio.current_task()
        try:
            for phase, names in zip(self.phases, plan, strict=True):
                log.info("startup phase %s: %s", phase, ", ".join(names) or "(no steps)")
                await self._run_phase(names)
        finally:
            self._start_task = None

    async def shutdown(self, grace_period: float) -> ShutdownReport:
        """Stop the completed steps in reverse completion order, all within `grace_period` seconds.

        A startup still in progress is cancelled first. Steps whose shutdown is still running at the
        deadline are cancelled and reported as unfinished, as are those never reached.
        """
        deadline = asyncio.get_running_loop().time() + grace_period
        starting = self._start_task
        if starting is not None and starting is not asyncio.current_task() and not starting.done():
            starting.cancel()
            await asyncio.wait({starting}, timeout=max(0.0, grace_period))
        return await self._stop_completed(deadline)

    def status(self) -> dict[str, StepStatus]:
        """Per step, in registration order: state, attempts, last error and duration."""
        now = time.monotonic()
        statuses = {}
        for name, spec in self._steps.items():
            run = self._runs[name]
            duration = None
            if run.started is not None:
                duration = (run.finished if run.finished is not None else now) - run.started
            statuses[name] = StepStatus(
                name, spec.phase, spec.critical, run.state, run.attempts, run.error, duration
            )
        return statuses

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able view of `status()`, for a health or debug endpoint."""
        return {"steps": [status.to_dict() for status in self.status().values()]}

    @property
    def completed(self) -> tuple[str, ...]:
        """Steps that are up, in the order they came up."""
        return tuple(self._completed)

    async def _run_phase(self, names: Sequence[str]) -> None:
        running: dict[asyncio.Task[None], str] = {}
        try:
            while True:
                moves = next_moves(names, self._steps, {n: r.state for n, r in self._runs.items()})
                for name, blocker in moves.skip.items():
                    self._runs[name].state = StepState.SKIPPED
                    self._runs[name].error = f"skipped: dependency {blocker!r} did not start"
                    log.warning("step %s skipped: dependency %s did not start", name, blocker)
                for name in moves.start:
                    self._runs[name].state = StepState.RUNNING
                    running[asyncio.create_task(self._attempts(self._steps[name]), name=name)] = name
                if not running:
                    return
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                # Record successes first so that a simultaneous critical failure rolls them back too.
                for task in sorted(done, key=lambda t: _error_of(t) is not None):
                    self._finish(running.pop(task), _error_of(task))
                failed = [t.get_name() for t in done if _error_of(t) is not None]
                critical = [name for name in failed if self._steps[name].critical]
                if critical:
                    await self._abort(critical[0], running)
        except asyncio.CancelledError:
            await self._cancel(running, reason="startup was cancelled")
            raise

    def _finish(self, name: str, error: BaseException | None) -> None:
        run = self._runs[name]
        run.finished = time.monotonic()
        if error is None:
            run.state = StepState.DONE
            self._completed.append(name)
            log.info("step %s done after %d attempt(s)", name, run.attempts)
        else:
            run.state, run.error, run.cause = StepState.FAILED, describe_error(error), error
            level = logging.ERROR if self._steps[name].critical else logging.WARNING
            log.log(level, "step %s failed after %d attempt(s): %s", name, run.attempts, run.error)

    async def _attempts(self, spec: StepSpec) -> None:
        run = self._runs[spec.name]
        run.started = time.monotonic()
        for attempt in range(1, spec.retries + 2):
            run.attempts = attempt
            try:
                async with asyncio.timeout(spec.timeout) as window:
                    await call_hook(spec.handler)
                return
            except TimeoutError as exc:
                error: Exception = exc
                if window.expired():
                    error = StepTimeout(f"attempt {attempt} timed out after {spec.timeout}s")
            except Exception as exc:
                error = exc
            run.error = describe_error(error)
            if attempt > spec.retries:
                raise error
            delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max)
            log.warning(
                "step %s attempt %d failed (%s); retrying in %.2fs", spec.name, attempt, run.error, delay
            )
            await asyncio.sleep(delay)

    async def _abort(self, failed: str, running: dict[asyncio.Task[None], str]) -> None:
        await self._cancel(running, reason=f"cancelled: startup failed at {failed!r}")
        rolled_back = tuple(reversed(self._completed))
        loop = asyncio.get_running_loop()
        report = await self._stop_completed(loop.time() + self.rollback_grace)
        problems = dict(report.failed)
        problems.update(
            {name: "still stopping when the rollback grace ran out" for name in report.unfinished}
        )
        run, spec = self._runs[failed], self._steps[failed]
        assert run.cause is not None
        raise StartupFailed(failed, spec.phase, run.cause, run.attempts, rolled_back, problems) from run.cause

    async def _cancel(self, running: dict[asyncio.Task[None], str], *, reason: str) -> None:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for name in running.values():
            run = self._runs[name]
            run.state, run.error, run.finished = StepState.FAILED, reason, time.monotonic()
        running.clear()

    async def _stop_completed(self, deadline: float) -> ShutdownReport:
        loop = asyncio.get_running_loop()
        stopped: list[str] = []
        failed: dict[str, str] = {}
        unfinished: list[str] = []
        for name in reversed(self._completed):
            spec, run = self._steps[name], self._runs[name]
            remaining = deadline - loop.time()
            if remaining <= 0:
                unfinished.append(name)
                continue
            error: Exception | None = None
            if spec.shutdown is not None:
                try:
                    async with asyncio.timeout(remaining) as window:
                        await call_hook(spec.shutdown)
                except Exception as exc:
                    if isinstance(exc, TimeoutError) and window.expired():
                        unfinished.append(name)
                        log.error("step %s did not stop within the grace period", name)
                        continue
                    error = exc
            run.state = StepState.STOPPED
            if error is None:
                stopped.append(name)
            else:
                run.error = failed[name] = describe_error(error)
                log.error("step %s failed to stop: %s", name, run.error)
        self._completed = [name for name in self._completed if name in unfinished]
        return ShutdownReport(tuple(stopped), failed, tuple(unfinished))


def _error_of(task: asyncio.Task[None]) -> BaseException | None:
    # A handler may raise CancelledError on its own; that is a failure of the step, not of ours.
    return (
        asyncio.CancelledError(f"step {task.get_name()!r} was cancelled")
        if task.cancelled()
        else task.exception()
    )
