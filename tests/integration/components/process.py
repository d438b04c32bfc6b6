"""Real component processes for tests: started on 127.0.0.1 with an OS-picked port, JSON logs in a file,
small HTTP helpers, and a fixture that kills whatever a test left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or text when the body is not JSON

    @property
    def json(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), f"expected a JSON object, got {self.body!r}"
        return self.body


def request(url: str, method: str = "GET", body: Any = None, timeout: float = 5.0) -> Reply:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode()
    try:
        return Reply(status, json.loads(text))
    except ValueError:
        return Reply(status, text)


@dataclass
class ComponentProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0
    _log: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> Reply:
        return request(self.url(path))

    def post(self, path: str, body: Any) -> Reply:
        return request(self.url(path), "POST", body)

    def patch(self, path: str, body: Any) -> Reply:
        return request(self.url(path), "PATCH", body)

    def logs(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                entries.append({"message": line, "level": "RAW"})
        return entries

    def log_text(self) -> str:
        return self.log_path.read_text()

    def wait_port(self, timeout: float = 30) -> int:
        def bound() -> int | None:
            self._assert_running()
            for entry in self.logs():
                if entry.get("logger") == "tradingbot_components.http.server" and "port" in entry:
                    return int(entry["port"])
            return None

        self.port = wait_until(bound, timeout=timeout, what=f"{self.name} to bind its port")
        return self.port

    def wait_ready(self, timeout: float = 30) -> Reply:
        if not self.port:
            self.wait_port(timeout)

        def ready() -> Reply | None:
            self._assert_running()
            reply = self.get("/readyz")
            return reply if reply.status == 200 else None

        return wait_until(ready, timeout=timeout, what=f"{self.name} to be ready")

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout}s\n{self.log_text()}") from None

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def _assert_running(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"{self.name} exited with {code}:\n{self.log_text()}")


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any TRADINGBOT_* or pod identity, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("TRADINGBOT_") and k not in ("POD_NAME", "POD_NAMESPACE")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class ComponentRunner:
    """Starts component processes and guarantees they are gone after the test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[ComponentProcess] = []

    def start(
        self, name: str, *args: str, env: Mapping[str, str] | None = None, port: int = 0
    ) -> ComponentProcess:
        log_path = self.workdir / f"{name}-{len(self.started)}.log"
        log = log_path.open("wb")
        command = [sys.executable, "-m", "tradingbot_components", name, *args]
        command += ["--host", "127.0.0.1", "--port", str(port), "--grace-period", "10"]
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=clean_environment(env), cwd=ROOT
        )
        started = ComponentProcess(name, process, log_path, _log=log)
        self.started.append(started)
        return started

    def cleanup(self) -> None:
        for started in self.started:
            started.kill()
            started._log.close()


@pytest.fixture
def components(tmp_path: Path) -> Iterator[ComponentRunner]:
    runner = ComponentRunner(tmp_path)
    try:
        yield runner
    finally:
        runner.cleanup()
