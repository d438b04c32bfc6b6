"""Waiting for `make test`'s background builds (tests/support/prepared.py) and the test order that lets them
overlap with the tests that need nothing built (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import needs_built_parts
from tests.support.prepared import DONE_ENV, LOG_ENV, PreparationFailed, wait_until_prepared


class FakeTime:
    """A clock that advances only when slept on; `on_sleep(n)` runs before the n-th sleep returns."""

    def __init__(self, on_sleep) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        self.on_sleep(self.sleeps)


@pytest.fixture
def builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    done, log = tmp_path / "done", tmp_path / "prepare.log"
    log.write_text("[build 10:00:00] kubernetes: compile: still working (20s)\n")
    monkeypatch.setenv(DONE_ENV, str(done))
    monkeypatch.setenv(LOG_ENV, str(log))
    return done, log


def test_nothing_to_wait_for_without_background_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DONE_ENV, raising=False)
    said: list[str] = []
    wait_until_prepared(said.append, sleep=lambda _: pytest.fail("must not wait"))
    assert said == []


def test_waits_until_the_builds_succeed_reporting_progress_every_30_seconds(
    builds: tuple[Path, Path],
) -> None:
    done, _ = builds
    time = FakeTime(lambda n: done.write_text("0\n") if n == 75 else None)
    said: list[str] = []
    wait_until_prepared(said.append, clock=time.clock, sleep=time.sleep)
    assert time.sleeps == 75
    progress = [line for line in said if line.startswith("waiting")]
    assert len(progress) == 3  # at 0, 30 and 60 seconds
    assert "kubernetes: compile: still working" in progress[0] and "prepare.log" in progress[0]
    assert said[-1] == "background builds done after waiting 75s"


def test_failed_builds_fail_with_the_end_of_their_log(builds: tuple[Path, Path]) -> None:
    done, log = builds
    log.write_text("".join(f"line {n}\n" for n in range(100)) + "error: containerd: compile failed\n")
    done.write_text("2\n")
    with pytest.raises(PreparationFailed) as failed:
        wait_until_prepared(lambda _: None)
    message = str(failed.value)
    assert "exit code 2" in message and "error: containerd: compile failed" in message
    assert "line 71" in message and "line 70" not in message  # the last 30 lines


class Item:
    def __init__(self, *, e2e: bool = False, fixtures: tuple[str, ...] = ()) -> None:
        self.e2e, self.fixturenames = e2e, fixtures

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "e2e" and self.e2e else None


def test_e2e_tests_and_tests_using_built_parts_run_after_the_rest() -> None:
    assert needs_built_parts(Item(e2e=True))
    assert needs_built_parts(Item(fixtures=("tmp_path", "prepared")))  # e.g. the image archive's checks
    assert not needs_built_parts(Item(fixtures=("tmp_path",)))
