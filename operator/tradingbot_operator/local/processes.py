"""Pods as processes: what the kubelet does for a pod, done for one local child process.

A `Pod` runs one component process and keeps what the planner observes of a pod: Ready (its `/readyz`
answers 200; three failed probes in a row make it NotReady, as a readiness probe's failureThreshold does),
container restarts, the reason of the last termination, and CrashLoopBackOff while it waits to be started
again. A child that exits on its own is restarted like a container with `restartPolicy: Always`: at once
the first time, then after 1, 2, 4 ... 60 s; a run of a minute resets the backoff. `terminate()` is a pod
deletion: SIGTERM, then SIGKILL after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tradingbot_components.http.probes import summarize_not_ready

log = logging.getLogger(__name__)

PROBE_INTERVAL = 0.5
PROBE_TIMEOUT = 1.0
FAILURE_THRESHOLD = 3
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
STABLE_RUN = 60.0  # a process that ran this long starts its crash backoff afresh


@dataclass(frozen=True)
class LaunchSpec:
    """A pod template as a command line: what to run, with which environment, on which port."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    port: int
    template_hash: str
    log_file: Path
    grace_period: float = 15.0
    cwd: Path | None = None


def crash_backoff(streak: int) -> float:
    """Seconds before restarting a process that exited `streak` times in a row (the first: at once)."""
    if streak <= 1:
        return 0.0
    return float(min(BACKOFF_BASE * 2 ** (streak - 2), BACKOFF_CAP))


def termination_reason(code: int) -> str:
    """What Kubernetes would call the container's last termination."""
    if code == 0:
        return "Completed"
    if code == -signal.SIGKILL:
        return "Killed"
    return "Error"


@dataclass
class Pod:
    name: str
    component: str
    spec: LaunchSpec
    on_change: Callable[[], None] = lambda: None
    restarts: int = 0
    ready: bool = False
    terminating: bool = False
    gone: bool = False
    waiting_reason: str | None = None
    not_ready_why: str | None = None  # the reasons the last failed /readyz gave
    last_terminated_reason: str | None = None
    last_exit_code: int | None = None
    config_generation: int | None = None
    pid: int | None = None
    started_at: float | None = None  # wall clock of the current process start
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.port}"

    def start(self, session: aiohttp.ClientSession) -> None:
        self._task = asyncio.create_task(self._run(session), name=f"pod-{self.name}")

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_file.open("ab") as log_handle:
            return await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_handle,
                stderr=asyncio.subprocess.STDOUT,
                env=dict(self.spec.env),
                cwd=str(self.spec.cwd) if self.spec.cwd else None,
                start_new_session=True,  # Ctrl-C reaches the runner only; it stops children in order
            )

    async def _run(self, session: aiohttp.ClientSession) -> None:
        streak = 0
        try:
            while not self._stop.is_set():
                try:
                    process = await self._spawn()
                except OSError as error:
                    code, started = 127, time.monotonic()
                    log.error("%s: cannot start %s: %s", self.name, self.spec.argv[0], error)
                else:
                    self._process, self.pid = process, process.pid
                    self.started_at, started = time.time(), time.monotonic()
                    self.waiting_reason = None
                    self.on_change()
                    prober = asyncio.create_task(self._probe(session), name=f"probe-{self.name}")
                    try:
                        code = await process.wait()
                    finally:
                        prober.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await prober
                self._set_ready(False)
                self._process, self.pid = None, None
                if self._stop.is_set():
                    break
                self.restarts += 1
                self.last_exit_code = code
                self.last_terminated_reason = termination_reason(code)
                streak = 1 if time.monotonic() - started >= STABLE_RUN else streak + 1
                delay = crash_backoff(streak)
                log.warning(
                    "%s exited with %s; restarting%s",
                    self.name,
                    code,
                    f" in {delay:g}s (CrashLoopBackOff)" if delay else "",
                )
                self.waiting_reason = "CrashLoopBackOff" if delay else None
                self.on_change()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            self.gone = True
            self.on_change()

    async def _probe(self, session: aiohttp.ClientSession) -> None:
        failures = 0
        while True:
            ok = False
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with session.get(
                    f"{self.url}/readyz", timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)
                ) as response:
                    ok = response.status == 200
                    if not ok:
                        with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                            self._set_why(summarize_not_ready(await response.json()))
            failures = 0 if ok else failures + 1
            if ok:
                self._set_ready(True)
            elif failures >= FAILURE_THRESHOLD or not self.ready:
                self._set_ready(False)
            await asyncio.sleep(PROBE_INTERVAL)

    def _set_ready(self, ready: bool) -> None:
        if ready != self.ready:
            self.ready = ready
            if ready:
                self.not_ready_why = None
            self.on_change()

    def _set_why(self, why: str | None) -> None:
        if why != self.not_ready_why:
            self.not_ready_why = why
            if not self.ready:
                self.on_change()

    def terminate(self) -> None:
        """Begin a graceful stop (returns at once; `gone` turns True when the process has exited)."""
        if self.terminating:
            return
        self.terminating = True
        self._stop.set()
        self._set_ready(False)
        if self._task is None:
            self.gone = True
            return
        asyncio.get_running_loop().create_task(self._stop_process(), name=f"stop-{self.name}")

    async def _stop_process(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.spec.grace_period)
            except TimeoutError:
                log.warning("%s did not stop within %gs; killing it", self.name, self.spec.grace_period)
                self.kill()
        self.on_change()

    def kill(self) -> None:
        """SIGKILL the process (and anything it started in its session)."""
        self._stop.set()
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def wait_gone(self, timeout: float | None = None) -> bool:
        if self._task is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            return False
        return True
