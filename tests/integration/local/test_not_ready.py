"""A component that never becomes ready, run locally: its row says why, in the words its /readyz uses (the same
message the operator shows from the Pod annotation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.integration.local.runner import EXAMPLE


def test_a_component_that_never_becomes_ready_says_why(local_bot, tmp_path: Path) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    # A closed port on this machine: market-data can never connect, so its /readyz never passes.
    document["components"] = [
        {
            "name": "market-data",
            "env": [{"name": "TRADINGBOT_ENDPOINTS_EXCHANGE_WS", "value": "ws://127.0.0.1:9/v2"}],
        }
    ]
    config = tmp_path / "stuck.yaml"
    config.write_text(yaml.safe_dump(document))
    bot = local_bot(config)

    def explained() -> dict[str, Any] | None:
        rows = [r for r in bot.status().get("components", []) if r["name"] == "market-data"]
        return rows[0] if rows and "exchange-feed" in rows[0].get("message", "") else None

    row = bot.wait(explained, "market-data's row to say why it is not ready", 90)
    assert row["ready"] == "0/1" and row["health"] != "Healthy", row
    assert "(pod kraken-local-market-data-" in row["message"] and "Unhealthy: " in row["message"], row
    status = bot.status()
    assert status["startupPhase"] == "Network" and status["health"] != "Healthy"
    # Nothing after it started: the Services phase waits.
    assert all(r["state"] in ("Waiting", "Stopped") for r in status["components"] if r["phase"] == "Services")
