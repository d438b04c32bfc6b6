"""`restart`: the plugin only annotates the TradingBot; the operator restarts and clears the annotation."""

from __future__ import annotations

from tests.e2e.plugin.conftest import Plugin
from tests.support.bots import Bots, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

REQUEST = "tradingbot.dev/restart"
RESTARTED = "tradingbot.dev/restartedAt"


def restarted_at(bots: Bots, component: str) -> str | None:
    return (bots.deployments()[component].spec.template.metadata.annotations or {}).get(RESTARTED)


def annotations(bots: Bots, name: str) -> dict[str, str]:
    return bots.get(name)["metadata"].get("annotations") or {}


def test_restart_wait_returns_once_the_operator_has_restarted_the_component(
    operator: OperatorProcess, bots: Bots, plugin: Plugin
) -> None:
    bots.create(bot_manifest("manual"))
    bots.wait_ready("manual")
    assert restarted_at(bots, "auth") is None

    result = plugin("restart", "manual", "auth", "--wait", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restart of auth requested: TradingBot manual" in result.stdout
    assert result.stdout.splitlines()[-1] == "restarted: auth"
    assert "request pending" in result.stderr or "request carried out" in result.stderr  # progress

    # When --wait returns, the operator has done all of it: cleared the request, recorded and rolled.
    assert REQUEST not in annotations(bots, "manual")
    auth = next(c for c in bots.status("manual")["components"] if c["name"] == "auth")
    assert auth["lastRecovery"]["action"] == "Restart" and auth["lastRecovery"]["reason"] == "ManualRequest"
    assert restarted_at(bots, "auth") is not None
    assert restarted_at(bots, "gateway") is None


def test_restart_without_wait_annotates_and_the_operator_clears_it(
    operator: OperatorProcess, bots: Bots, plugin: Plugin
) -> None:
    bots.create(bot_manifest("everything"))
    bots.wait_ready("everything")
    result = plugin("restart", "everything")
    assert result.returncode == 0, result.stderr
    assert f"annotated {REQUEST}=all" in result.stdout
    wait_until(lambda: REQUEST not in annotations(bots, "everything"), timeout=30, what="request cleared")
    wait_until(
        lambda: all(restarted_at(bots, c) for c in ("storage", "auth", "trader")),
        timeout=10,
        what="every component restarted",
    )


def test_an_unknown_component_is_refused_before_anything_is_written(
    operator: OperatorProcess, bots: Bots, plugin: Plugin, namespace: str
) -> None:
    bots.create(bot_manifest("strict"))
    bots.wait_ready("strict")
    version = bots.get("strict")["metadata"]["resourceVersion"]
    result = plugin("restart", "strict", "autth")
    assert result.returncode == 3
    assert f"no component autth in TradingBot 'strict' in namespace '{namespace}'" in result.stderr
    assert "auth" in result.stderr.split("components:")[1]
    assert REQUEST not in annotations(bots, "strict")
    assert bots.get("strict")["metadata"]["resourceVersion"] == version
