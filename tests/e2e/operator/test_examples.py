"""The examples in examples/ are valid at the API server and reach Ready through the operator."""

from __future__ import annotations

import pytest

from tests.support.bots import Bots, DeploymentRecorder, example
from tests.support.cluster import ROOT, LocalCluster
from tests.support.operator import OperatorProcess

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_passes_server_side_validation(
    cluster: LocalCluster, crd: None, namespace: str, name: str
) -> None:
    result = cluster.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(ROOT / "examples" / name)
    )
    assert "(server dry run)" in result.stdout


def test_custom_component_example_reaches_ready_in_dependency_order(
    operator: OperatorProcess, bots: Bots
) -> None:
    manifest = example("tradingbot-custom-component.yaml")
    with DeploymentRecorder(bots) as recorder:
        bots.create(manifest)
        status = bots.wait_ready(manifest["metadata"]["name"])
    created = recorder.created()
    assert created.index("market-data") < created.index("signals") < created.index("trader")
    assert status["ready"] == "9/9"
    signals = next(c for c in status["components"] if c["name"] == "signals")
    assert (signals["phase"], signals["state"]) == ("Services", "Ready")
    deployment = bots.deployments()["signals"]
    container = deployment.spec.template.spec.containers[0]
    assert container.image == "ghcr.io/example/signals:1.2.0" and container.command is None
