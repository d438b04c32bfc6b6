"""Waiting for `make test`'s background builds (tests/support/prepared.py) and the test order that lets them
overlap with the tests that need nothing built (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import build_stage_needed
from tests.support.prepared import (
    ALL,
    CONTROL_PLANE,
    DIR_ENV,
    LOG_ENV,
    PreparationFailed,
    under_way,
    wait_until_prepared,
)


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
    """The stage directory (nothing finished yet) and the log."""
    log = tmp_path / "prepare.log"
    log.write_text("[build 10:00:00] kubernetes: compile: still working (20s)\n")
    monkeypatch.setenv(DIR_ENV, str(tmp_path / "stages"))
    monkeypatch.setenv(LOG_ENV, str(log))
    (tmp_path / "stages").mkdir()
    return tmp_path / "stages", log


def test_nothing_to_wait_for_without_background_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DIR_ENV, raising=False)
    said: list[str] = []
    wait_until_prepared(said.append, sleep=lambda _: pytest.fail("must not wait"))
    assert said == [] and not under_way()


def test_each_stage_is_waited_for_on_its_own(builds: tuple[Path, Path]) -> None:
    stages, _ = builds
    (stages / CONTROL_PLANE).write_text("0\n")
    wait_until_prepared(lambda _: None, CONTROL_PLANE, sleep=lambda _: pytest.fail("must not wait"))
    assert not under_way(CONTROL_PLANE) and under_way(ALL)


def test_waits_until_the_builds_succeed_reporting_progress_every_30_seconds(
    builds: tuple[Path, Path],
) -> None:
    stages, _ = builds
    time = FakeTime(lambda n: (stages / ALL).write_text("0\n") if n == 75 else None)
    said: list[str] = []
    wait_until_prepared(said.append, clock=time.clock, sleep=time.sleep)
    assert time.sleeps == 75
    progress = [line for line in said if line.startswith("waiting")]
    assert len(progress) == 3  # at 0, 30 and 60 seconds
    assert "kubernetes: compile: still working" in progress[0] and "prepare.log" in progress[0]
    assert said[-1] == "background builds' all stage done after waiting 75s"


def test_failed_builds_fail_with_the_end_of_their_log(builds: tuple[Path, Path]) -> None:
    stages, log = builds
    log.write_text("".join(f"line {n}\n" for n in range(100)) + "error: containerd: compile failed\n")
    (stages / ALL).write_text("2\n")
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


def test_tests_run_in_the_order_of_the_build_stage_they_need() -> None:
    assert build_stage_needed(Item(fixtures=("tmp_path",))) is None
    assert build_stage_needed(Item(e2e=True, fixtures=("cluster", "control_plane_built"))) == CONTROL_PLANE
    assert build_stage_needed(Item(e2e=True, fixtures=("real_cluster", "prepared"))) == ALL  # real pods
    assert build_stage_needed(Item(fixtures=("prepared",))) == ALL  # e.g. the image archive's checks
