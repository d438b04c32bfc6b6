"""`tradingbot run CONFIG --health-check` when no bot runs: a broken file is "not reachable" (3) with the
reason; a valid one is started, reported on and stopped, leaving nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.local.runner import alive, tradingbot

# The Infrastructure, Auth and Network phases only: a one-shot start that stays short.
SMALL = """name: small
exchange: {mode: paper}
rate_limiting: {tier: pro}
components:
- {name: balance-manager, replicas: 0}
- {name: portfolio, replicas: 0}
- {name: trader, replicas: 0}
"""


def test_a_broken_file_with_no_bot_running_is_not_reachable(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("trading: {profit_target: 7}\n")
    result = tradingbot("run", str(config), "--health-check", "-o", "json", state=tmp_path / "state")
    assert result.returncode == 3
    assert json.loads(result.stdout)["health"] == "NotReachable"
    assert "bot.yaml:1: trading.profit_target: Input should be less than 1" in result.stderr
    status = tradingbot("status", str(config), state=tmp_path / "state")
    assert status.returncode == 3 and "no bot is running" in status.stderr


def test_one_shot_starts_reports_and_stops(tmp_path: Path) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    result = tradingbot("run", str(config), "--health-check", state=tmp_path / "state", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("small: Healthy")
    assert "starting it for a one-shot report" in result.stderr
    report = json.loads((tmp_path / "state" / "small" / "status.json").read_text())
    assert "gateway           Healthy" in result.stdout
    assert report["status"]["ready"] == "0/8"  # the last status written: everything stopped again
    pids = [row["pid"] for row in report["components"].values() if row.get("pid")]
    assert pids == [] or not any(alive(pid) for pid in pids)
    assert not (tmp_path / "state" / "small" / "runner.json").exists()
