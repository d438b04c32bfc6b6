"""The state directory: one runner per bot, and what a killed runner left behind is cleaned up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tradingbot_operator.local.statedir import AlreadyRunning, BotLock, StateDir


def test_a_second_lock_on_the_same_bot_is_refused(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "bot").create()
    first = BotLock(state)
    first.acquire()
    try:
        assert state.running()
        with pytest.raises(AlreadyRunning, match="already running"):
            BotLock(state).acquire()
    finally:
        first.release()
    assert not state.running()


def test_children_of_a_killed_runner_are_reaped_and_nothing_else(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "bot").create()
    script = "import time; time.sleep(60)"
    orphan = subprocess.Popen(
        [sys.executable, "-c", script, "tradingbot_components", "--config", str(state.config_file)],
        start_new_session=True,
    )
    stranger = subprocess.Popen(
        [sys.executable, "-c", script, "tradingbot_components"], start_new_session=True
    )
    try:
        rows = {"auth": {"pid": orphan.pid}, "storage": {"pid": stranger.pid}, "trader": {"pid": None}}
        state.status_file.write_text(json.dumps({"components": rows}))
        assert state.reap_orphans() == [orphan.pid]
        assert orphan.wait(10) != 0
        assert stranger.poll() is None
    finally:
        for process in (orphan, stranger):
            process.kill()
            process.wait(10)


def test_paper_credentials_are_made_once_and_private(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "bot").create()
    first = (state.paper_credentials() / "api-key").read_text()
    assert (state.paper_credentials() / "api-key").read_text() == first
    assert (state.credentials / "api-secret").stat().st_mode & 0o777 == 0o600
