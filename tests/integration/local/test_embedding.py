"""The embedding API as a Python user calls it: `async with Orchestrator.from_file(...)`, a component's
client, the config (get, subscribe, update), the status, a report, and the stop."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local.runner import alive
from tests.integration.local.test_health_check import SMALL
from tradingbot_components.clients import BalanceManagerClient, GatewayClient
from tradingbot_operator.local import Orchestrator
from tradingbot_operator.local.document import DocumentProblem


async def test_a_bot_embedded_in_python(tmp_path: Path) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    changes: list[tuple[str, Any, Any]] = []
    async with Orchestrator.from_file(config, state_dir=tmp_path / "state") as bot:
        status = bot.get_status()
        assert (status.phase, status.health, status.startup_phase) == ("Running", "Healthy", "Complete")

        gateway = await bot.get_component(GatewayClient)
        reply = await gateway.public("Time")
        assert reply.ok and reply.result["unixtime"] > 0
        with pytest.raises(LookupError, match="no component balance-manager"):
            await bot.get_component(BalanceManagerClient)  # replicas 0 here: not running

        assert bot.config.get("trading.profit_target") == 0.005
        bot.config.subscribe(lambda path, old, new: changes.append((path, old, new)), prefix="trading")
        generation = await bot.update_config("trading.profit_target", 0.007)
        assert bot.config.get("trading.profit_target") == 0.007
        assert changes == [("trading.profit_target", 0.005, 0.007)]
        rows = [r for r in bot.get_status().components if r.config_generation is not None]
        assert rows and all(r.config_generation == generation for r in rows)
        with pytest.raises(ValueError, match=r"trading\.profit_target"):
            await bot.update_config("trading.profit_target", 3)

        archive = await bot.export_report(tmp_path / "report.zip")
        assert any(n.endswith("summary.md") for n in zipfile.ZipFile(archive).namelist())
        pids = [row["pid"] for row in bot.session.runner.report["components"].values() if row["pid"]]
    assert pids and not any(alive(pid) for pid in pids)


def test_a_bad_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text('{"trading": {"pairs": []}}')
    with pytest.raises(DocumentProblem, match=r"bad\.json:1: trading\.pairs"):
        Orchestrator.from_file(config, state_dir=tmp_path / "state")
