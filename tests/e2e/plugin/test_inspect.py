"""`status`, `list` and `health` against the real API server and a real operator."""

from __future__ import annotations

import json

import yaml

from tests.e2e.plugin.conftest import Plugin
from tests.support.bots import Bots, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.pods import component_pods, set_ready
from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.plugin.views import COMPONENT_HEADERS


def row(status: dict, component: str) -> dict:
    return next(c for c in status["components"] if c["name"] == component)


def test_status_of_a_ready_bot_as_text_json_and_yaml(
    operator: OperatorProcess, bots: Bots, plugin: Plugin
) -> None:
    bots.create(bot_manifest("kraken-main"))
    status = bots.wait_ready("kraken-main")

    text = plugin("status", "kraken-main")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "kraken-main: Running, Healthy, 8/8 ready, startup Complete"
    for section in ("Conditions:", "Components:", "Config:"):
        assert section in lines
    header = lines[lines.index("Components:") + 1]
    assert header.split() == list(COMPONENT_HEADERS)
    rows = {line.split()[0]: line.split() for line in lines[lines.index("Components:") + 2 :] if line}
    for name in COMPONENT_NAMES:
        assert rows[name][2:5] == ["Ready", "1/1", "Healthy"], rows[name]
    assert any(line.split()[:2] == ["Ready", "True"] for line in lines)
    config = status["config"]
    assert f"  generation {config['generation']}, hash {config['hash']}" in lines

    as_json = plugin("status", "kraken-main", "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    printed = json.loads(as_json.stdout)
    assert printed["health"] == "Healthy" and printed["ready"] == "8/8"
    assert [c["name"] for c in printed["components"]] == [c["name"] for c in status["components"]]
    assert printed["config"] == config

    as_yaml = plugin("status", "kraken-main", "-o", "yaml")
    assert yaml.safe_load(as_yaml.stdout)["phase"] == "Running"


def test_list_in_the_namespace_and_across_namespaces(
    operator: OperatorProcess, bots: Bots, plugin: Plugin, namespace: str
) -> None:
    empty = plugin("list")
    assert empty.returncode == 0 and empty.stdout == ""
    assert f"No TradingBots found in namespace '{namespace}'." in empty.stderr

    for name in ("alpha", "beta"):
        bots.create(bot_manifest(name))
    for name in ("alpha", "beta"):
        bots.wait_ready(name)

    listed = plugin("list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "PHASE", "HEALTH", "STARTUP", "AGE"]
    assert [line.split()[:5] for line in lines[1:]] == [
        ["alpha", "8/8", "Running", "Healthy", "Complete"],
        ["beta", "8/8", "Running", "Healthy", "Complete"],
    ]

    everywhere = plugin("list", "-A")
    assert everywhere.returncode == 0, everywhere.stderr
    lines = everywhere.stdout.splitlines()
    assert lines[0].split()[0] == "NAMESPACE"
    ours = [line.split()[:3] for line in lines[1:] if line.startswith(f"{namespace} ")]
    assert ours == [[namespace, "alpha", "8/8"], [namespace, "beta", "8/8"]]


def test_health_exit_codes_follow_the_bot_health(
    operator: OperatorProcess, bots: Bots, plugin: Plugin
) -> None:
    # Two portfolio pods: one NotReady makes it Degraded (1/2), both make it Unhealthy. No recovery, so the
    # operator only reports.
    bots.create(
        bot_manifest(
            "checked", recovery={"enabled": False}, components=[{"name": "portfolio", "replicas": 2}]
        )
    )
    bots.wait_ready("checked")
    healthy = plugin("health", "checked")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("checked: Healthy (all components healthy)")

    first, second = component_pods(bots.core, bots.namespace, "checked", "portfolio")
    set_ready(bots.core, bots.namespace, first.metadata.name, False)
    bots.wait_for("checked", lambda s: s["health"] == "Degraded", timeout=15, what="bot Degraded")
    degraded = plugin("health", "checked")
    assert degraded.returncode == 1, degraded.stdout + degraded.stderr
    portfolio = next(line.split() for line in degraded.stdout.splitlines() if line.startswith("portfolio "))
    assert portfolio == ["portfolio", "Degraded", "NotReady", "-", "1/2", "pods", "ready"]

    set_ready(bots.core, bots.namespace, second.metadata.name, False)
    bots.wait_for("checked", lambda s: s["health"] == "Unhealthy", timeout=15, what="bot Unhealthy")
    unhealthy = plugin("health", "checked")
    assert unhealthy.returncode == 2, unhealthy.stdout + unhealthy.stderr
    lines = unhealthy.stdout.splitlines()
    assert lines[0].startswith("checked: Unhealthy (")
    assert lines[1] == "root cause: portfolio"
    trader = next(line.split() for line in lines if line.startswith("trader "))
    assert trader[:4] == ["trader", "Degraded", "DependencyUnhealthy", "portfolio"]

    quiet = plugin("health", "checked", "-q")
    assert (quiet.returncode, quiet.stdout) == (2, "")
