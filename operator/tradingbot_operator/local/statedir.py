"""The state directory of one local bot: its lock, the runner's address, status, config, logs and alerts.

    <root>/<bot>/
      lock            flock held by the running `tradingbot run` (a second run of the bot refuses)
      runner.json     pid, control address and token (0600), ports, config file, started
      status.json     the status the planner wrote last (the TradingBot status, as in the cluster)
      config.json     the effective config document the components watch (the bot's "ConfigMap")
      alerts.jsonl    every alert, oldest first;  events.log: every event
      credentials/    paper mode: the simulator account made once (0600), never shown
      logs/<component>.log, data/ (storage's SQLite), runtime/ (auth's key lock)

The root is `--state-dir`, else `$TRADINGBOT_STATE_DIR`, else `$XDG_STATE_HOME/tradingbot`
(`~/.local/state/tradingbot`).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO


class AlreadyRunning(RuntimeError):
    """Another `tradingbot run` holds this bot's lock."""


def default_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("TRADINGBOT_STATE_DIR"):
        return Path(env["TRADINGBOT_STATE_DIR"]).expanduser()
    base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "tradingbot"


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Readers (components watching config.json, `--health-check` reading status.json) never see half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.chmod(mode)
    temporary.replace(path)


@dataclass(frozen=True)
class StateDir:
    path: Path

    @classmethod
    def of(cls, bot: str, root: Path | None = None) -> StateDir:
        return cls((root or default_root()) / bot)

    def create(self) -> StateDir:
        for sub in ("", "logs", "data", "runtime"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self.path.chmod(0o700)  # holds the paper account and the control token
        return self

    @property
    def lock_file(self) -> Path:
        return self.path / "lock"

    @property
    def runner_file(self) -> Path:
        return self.path / "runner.json"

    @property
    def status_file(self) -> Path:
        return self.path / "status.json"

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def alerts_file(self) -> Path:
        return self.path / "alerts.jsonl"

    @property
    def events_file(self) -> Path:
        return self.path / "events.log"

    @property
    def credentials(self) -> Path:
        return self.path / "credentials"

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def runtime(self) -> Path:
        return self.path / "runtime"

    def log_file(self, component: str) -> Path:
        return self.path / "logs" / f"{component}.log"

    def paper_credentials(self) -> Path:
        """The simulator account of this bot, made once (random, like the operator's paper Secret)."""
        directory = self.credentials
        if not (directory / "api-key").exists() or not (directory / "api-secret").exists():
            directory.mkdir(mode=0o700, exist_ok=True)
            key = base64.b64encode(secrets.token_bytes(40)).decode()
            secret = base64.b64encode(secrets.token_bytes(64)).decode()
            write_atomic(directory / "api-key", key + "\n", 0o600)
            write_atomic(directory / "api-secret", secret + "\n", 0o600)
        return directory

    def read_json(self, path: Path) -> dict[str, Any] | None:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def runner_info(self) -> dict[str, Any] | None:
        return self.read_json(self.runner_file)

    def status(self) -> dict[str, Any] | None:
        return self.read_json(self.status_file)

    def reap_orphans(self) -> list[int]:
        """Kill the children a killed runner left behind (its last status names them); returns their pids.

        Only processes whose command line is a component's with this bot's config file are touched."""
        reaped = []
        for row in ((self.status() or {}).get("components") or {}).values():
            pid = row.get("pid") if isinstance(row, dict) else None
            if not isinstance(pid, int):
                continue
            try:
                command = (
                    Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
            if "tradingbot_components" in command and str(self.config_file) in command:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                reaped.append(pid)
        return reaped

    def running(self) -> bool:
        """Whether a runner holds the lock now (its pid file alone could be stale)."""
        if not self.lock_file.exists():
            return False
        with self.lock_file.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False


class BotLock:
    """The exclusive lock of one bot's state directory, held for the runner's lifetime."""

    def __init__(self, state: StateDir) -> None:
        self.state = state
        self._handle: TextIO | None = None

    def acquire(self) -> None:
        handle = self.state.lock_file.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            info = self.state.runner_info() or {}
            pid = info.get("pid", "?")
            raise AlreadyRunning(
                f"bot {self.state.path.name!r} is already running (pid {pid}, state in {self.state.path}); "
                f"stop it first (Ctrl-C in its terminal, or kill {pid})"
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
