"""The command line and the life of a component process: probes while running, SIGTERM stops the steps in
reverse order with exit code 0, and bad input exits with a message people can act on."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.components.process import ROOT, ComponentRunner, clean_environment


def config_file(tmp_path: Path, **storage: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"storage": {"sqlite_path": str(tmp_path / "s.db"), **storage}}))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradingbot_components", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(env),
        cwd=ROOT,
    )


def test_probes_answer_while_running(components: ComponentRunner, tmp_path: Path) -> None:
    storage = components.start("storage", "--config", str(config_file(tmp_path)))
    ready = storage.wait_ready()
    assert ready.json == {"ready": True, "reasons": []}
    assert storage.get("/livez").json["live"] is True
    health = storage.get("/healthz").json
    assert health["component"] == "storage"
    assert health["status"] == "healthy" and health["lifecycle"] == "running"
    assert health["config"]["generation"] == 1 and health["config"]["last_error"] is None
    assert [s["name"] for s in health["startup"]["steps"]] == [
        "http",
        "config",
        "database",
        "health",
        "serving",
    ]
    assert all(s["state"] == "done" for s in health["startup"]["steps"])
    metrics = storage.get("/metrics")
    assert 'tradingbot_component_status{component="database",status="healthy"} 1.0' in metrics.body
    assert "python_gc_objects_collected_total" not in metrics.body  # our registry, not the global one


def test_sigterm_stops_in_reverse_order_and_exits_zero(components: ComponentRunner, tmp_path: Path) -> None:
    storage = components.start("storage", "--config", str(config_file(tmp_path)))
    storage.wait_ready()
    assert storage.terminate() == 0
    (stopped,) = [e for e in storage.logs() if e["message"].startswith("stopped: ")]
    assert stopped["stopped"] == ["serving", "health", "database", "config", "http"]
    assert stopped["component"] == "storage" and stopped["level"] == "INFO"
    for entry in storage.logs():
        assert {"time", "level", "component", "logger", "message"} <= entry.keys()


def test_unknown_component_exits_2_listing_the_known_ones() -> None:
    result = run_cli("nonsense")
    assert result.returncode == 2
    assert "unknown component 'nonsense'; known components: " in result.stderr
    for known in ("storage", "exchange-sim", "auth", "gateway", "market-data"):
        assert known in result.stderr


def test_bad_command_lines_exit_2() -> None:
    assert run_cli("storage", "--configmap", "no-slash").returncode == 2
    assert run_cli().returncode == 2


def test_an_invalid_starting_config_exits_1_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"circuit_breaker": {"failure_threshold": 0}}))
    result = run_cli("storage", "--config", str(path), "--port", "0", "--host", "127.0.0.1")
    assert result.returncode == 1
    assert "circuit_breaker.failure_threshold" in result.stderr


def test_an_invalid_environment_override_exits_1_naming_the_variable(tmp_path: Path) -> None:
    env = {"TRADINGBOT_TRADING_PROFIT_TARGET": "lots"}
    result = run_cli("storage", "--config", str(config_file(tmp_path)), "--port", "0", env=env)
    assert result.returncode == 1
    assert "TRADINGBOT_TRADING_PROFIT_TARGET" in result.stderr and "trading.profit_target" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None, reason="psycopg is installed")
def test_postgres_without_psycopg_fails_at_startup_with_the_install_hint(tmp_path: Path) -> None:
    env = {"TRADINGBOT_STORAGE_BACKEND": "postgres", "TRADINGBOT_STORAGE_DSN": "postgresql://u:pw1@h/db"}
    path = config_file(tmp_path)
    result = run_cli("storage", "--config", str(path), "--port", "0", "--host", "127.0.0.1", env=env)
    assert result.returncode == 1
    assert "pip install 'tradingbot-operator[postgres]'" in result.stderr
    assert "pw1" not in result.stderr


def test_plain_log_format_for_people(tmp_path: Path) -> None:
    env = {"TRADINGBOT_LOG_FORMAT": "plain", "TRADINGBOT_TRADING_PROFIT_TARGET": "lots"}
    result = run_cli("storage", "--config", str(config_file(tmp_path)), "--port", "0", env=env)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert " ERROR   storage tradingbot_components: cannot start storage" in line
