"""`system.debug` in a running component process: toggled hot in its config file, it switches the process's
log level to DEBUG and back without a restart, and `/debug` answers only while it is on, without secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.waiting import wait_until

RELOAD_TIMEOUT = 10.0
CANARY = "postgresql://bot:debug-canary-5f3a@db.invalid/bot"


def write(path: Path, tmp_path: Path, *, debug: bool) -> None:
    path.write_text(
        json.dumps(
            {
                "system": {"debug": debug, "health_check_interval": 1},
                "storage": {"sqlite_path": str(tmp_path / "s.db")},
            }
        )
    )


def debug_lines(process: ComponentProcess, after: int = 0) -> list[dict[str, Any]]:
    return [e for e in process.logs()[after:] if e.get("level") == "DEBUG"]


def test_system_debug_toggles_the_log_level_and_debug_view_without_a_restart(
    components: ComponentRunner, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    write(path, tmp_path, debug=False)
    storage = components.start("storage", "--config", str(path), env={"TRADINGBOT_STORAGE_DSN": CANARY})
    storage.wait_ready()
    # Health checks run every second and log each result at DEBUG: with debug off none may appear.
    wait_until(
        lambda: storage.get("/healthz").json["health"]["components"]["database"]["checked_at"], timeout=5
    )
    assert debug_lines(storage) == []
    off = storage.get("/debug")
    assert off.status == 403
    assert "system.debug" in off.json["message"]

    mark = len(storage.logs())
    write(path, tmp_path, debug=True)
    wait_until(lambda: debug_lines(storage, mark), timeout=RELOAD_TIMEOUT, what="a DEBUG log line")
    checks = wait_until(
        lambda: [e for e in debug_lines(storage, mark) if e.get("check") == "database"],
        timeout=RELOAD_TIMEOUT,
        what="a health check logged at DEBUG",
    )
    assert checks[0]["status"] == "healthy"

    view = storage.get("/debug")
    assert view.status == 200
    body = view.json
    assert body["pid"] == storage.pid  # the same process: no restart
    assert body["logging"] == {"level": "DEBUG", "debug": True}
    assert body["effective_config"]["config"]["system"]["debug"] is True
    assert body["effective_config"]["config"]["storage"]["dsn"] == "***"
    assert "database" in body["health"]["components"]
    assert any(step["name"] == "config" for step in body["startup"]["steps"])
    assert any(task["name"] == "health-monitor" for task in body["tasks"])
    assert {"service": "ConfigManager", "lifetime": "singleton", "created": False} in body["container"]
    assert body["versions"]["python"] and body["versions"]["aiohttp"]

    mark = len(storage.logs())
    write(path, tmp_path, debug=False)
    wait_until(lambda: storage.get("/debug").status == 403, timeout=RELOAD_TIMEOUT, what="/debug to close")
    wait_until(
        lambda: [e for e in storage.logs()[mark:] if e["message"] == "log level INFO (system.debug off)"],
        timeout=RELOAD_TIMEOUT,
        what="the log level back to INFO",
    )

    exported = json.dumps([body, storage.get("/healthz").body])
    assert storage.terminate() == 0
    assert "debug-canary-5f3a" not in exported + storage.log_text()
