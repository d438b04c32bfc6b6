"""`tradingbot run` as a user runs it, for tests: a subprocess with its own state directory, its console
captured, its status read from status.json, and every process it started gone after the test."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.process import clean_environment
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "local" / "kraken-local.yaml"


def tradingbot(*args: str, state: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """One `tradingbot ...` command, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "tradingbot_operator.local.cli", *args],
        env=clean_environment({"TRADINGBOT_STATE_DIR": str(state)}),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is gone for our purposes
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return False
    return True


@dataclass
class RunningBot:
    config: Path
    state_root: Path
    process: subprocess.Popen[str]
    console_file: Path
    pids: set[int] = field(default_factory=set)  # every child pid ever seen

    @property
    def state(self) -> Path:
        return self.state_root / "kraken-local"

    def report(self) -> dict[str, Any]:
        try:
            report: dict[str, Any] = json.loads((self.state / "status.json").read_text())
        except (OSError, ValueError):
            return {}
        for row in report.get("components", {}).values():
            if row.get("pid"):
                self.pids.add(int(row["pid"]))
        return report

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.report().get("status") or {}
        return status

    def row(self, component: str) -> dict[str, Any]:
        return next(r for r in self.status().get("components", []) if r["name"] == component)

    def pid(self, component: str) -> int | None:
        pid = self.report().get("components", {}).get(component, {}).get("pid")
        return int(pid) if pid else None

    def condition(self, kind: str) -> dict[str, Any]:
        return next((c for c in self.status().get("conditions", []) if c["type"] == kind), {})

    def alerts(self) -> list[dict[str, Any]]:
        path = self.state / "alerts.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def events(self) -> list[str]:
        path = self.state / "events.log"
        return path.read_text().splitlines() if path.exists() else []

    def console(self) -> str:
        return self.console_file.read_text()

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 120) -> Any:
        def probe() -> Any:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"tradingbot run exited with {self.process.returncode}:\n{self.console()}"
                )
            return predicate()

        return wait_until(probe, timeout=timeout, interval=0.2, what=what)

    def wait_healthy(self, timeout: float = 150) -> None:
        self.wait(lambda: self.status().get("health") == "Healthy", "the bot to be Healthy", timeout)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        self.report()
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def start(config: Path, state_root: Path, *args: str) -> RunningBot:
    console = state_root.parent / f"console-{config.stem}.txt"
    handle = console.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tradingbot_operator.local.cli", "run", str(config), *args],
        env=clean_environment({"TRADINGBOT_STATE_DIR": str(state_root)}),
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    return RunningBot(config, state_root, process, console)


@pytest.fixture
def local_bot(tmp_path: Path) -> Iterator[Callable[..., RunningBot]]:
    started: list[RunningBot] = []

    def factory(config: Path = EXAMPLE, *args: str) -> RunningBot:
        bot = start(config, tmp_path / "state", *args)
        started.append(bot)
        return bot

    try:
        yield factory
    finally:
        for bot in started:
            bot.cleanup()
