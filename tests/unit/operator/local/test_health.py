"""`--health-check` renders a local report with the plugin's views and exits with its codes."""

from __future__ import annotations

import json

import pytest

from tests.unit.operator.local.test_dashboard import report
from tradingbot_operator.local.health import print_health


@pytest.mark.parametrize(
    ("health", "code"), [("Healthy", 0), ("Degraded", 1), ("Unknown", 1), ("Unhealthy", 2)]
)
def test_exit_codes_are_the_plugins(health: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert print_health(report(health), "text") == code
    assert capsys.readouterr().out.startswith(f"kraken-local: {health}")
    assert print_health(report(health), "json") == code
    shown = json.loads(capsys.readouterr().out)
    assert shown["health"] == health and shown["exitCode"] == code


def test_the_root_cause_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    print_health(report("Unhealthy"), "text")
    assert "root cause: gateway" in capsys.readouterr().out
