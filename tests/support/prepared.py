"""Waiting for what `make test` builds while the first tests run.

On a cold machine the cluster's binaries, the real node's and the image take longer to build than the unit and
integration tests take to run, and neither needs the other: `hack/run-tests.sh --prepare` starts
`hack/prepare-tests.sh` in the background (at a lower CPU priority than the tests) and names, in the environment,
the directory where each stage's exit code lands and the log. Stages: CONTROL_PLANE (the kwok e2e tests can
start) and ALL (the real node's parts and the image too). The tests are ordered by the stage they need (see
tests/conftest.py); the first fixture that needs a stage waits here, reporting progress, and fails with the end of
the build log if the builds failed. Without `--prepare` (make test-e2e, a bare pytest) there is nothing to wait for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

DIR_ENV = (
    "TRADINGBOT_PREPARE_DIR"  # where each stage's exit code is written (a file named after it) when it ends
)
LOG_ENV = "TRADINGBOT_PREPARE_LOG"  # the builds' output
CONTROL_PLANE = "control-plane"
ALL = "all"
ORDER = (None, CONTROL_PLANE, ALL)  # nothing built, then the stages in the order they finish
# Set by the `cluster` fixture when it started the cluster before the real node's parts were built.
REAL_NODE_DEFERRED = pytest.StashKey[bool]()
PROGRESS_EVERY = 30.0  # seconds between progress lines while waiting
LOG_TAIL_LINES = 30


class PreparationFailed(RuntimeError):
    """The background builds ended with an error; the message holds the end of their log."""


def under_way(stage: str = ALL) -> bool:
    """Whether background builds were started and have not finished `stage` yet."""
    directory = os.environ.get(DIR_ENV)
    return bool(directory) and _exit_code(Path(directory) / stage) is None


def wait_until_prepared(
    say: Callable[[str], None],
    stage: str = ALL,
    *,
    poll: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once the background builds have finished `stage` successfully (at once when none were started);
    `say` gets a line on entry and every PROGRESS_EVERY seconds with the log's last line. Raises
    PreparationFailed if they failed."""
    directory = os.environ.get(DIR_ENV)
    if not directory:
        return
    done, log = Path(directory) / stage, Path(os.environ.get(LOG_ENV, ""))
    started = clock()
    next_report = started
    while (code := _exit_code(done)) is None:
        now = clock()
        if now >= next_report:
            say(
                f"waiting for the background builds' {stage} stage ({now - started:.0f}s): {_last_line(log)}"
                f"  (log: {log})"
            )
            next_report = now + PROGRESS_EVERY
        sleep(poll)
    if code != 0:
        raise PreparationFailed(
            f"the background builds failed (exit code {code}); the end of {log}:\n{_tail(log, LOG_TAIL_LINES)}"
        )
    if clock() > started + poll:
        say(f"background builds' {stage} stage done after waiting {clock() - started:.0f}s")


def _exit_code(done: Path) -> int | None:
    try:
        text = done.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None  # written to a temporary name and renamed, so never half-written


def _last_line(log: Path) -> str:
    lines = _tail(log, 1)
    return lines or "(no output yet)"


def _tail(log: Path, count: int) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-count:])
    except OSError:
        return "(no log)"
