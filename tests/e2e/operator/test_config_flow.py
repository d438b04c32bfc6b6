"""The config path end to end: kubectl patch TradingBot -> operator -> ConfigMap -> a running component
(a real process watching the ConfigMap through the API) applies it and reports its generation on its Pod,
which the operator shows per component and in the ConfigApplied condition."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.components.process import ComponentRunner
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.identities import PodIdentities
from tests.support.operator import OperatorProcess
from tests.support.pods import component_pods
from tests.support.waiting import wait_until


def test_patch_reaches_a_running_component_and_is_reported(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots, components: ComponentRunner, tmp_path: Path
) -> None:
    bots.create(bot_manifest("flow"))
    bots.wait_ready("flow")
    pod = component_pods(bots.core, bots.namespace, "flow", "storage")[0].metadata.name
    # The storage component runs here as a real process, standing in for the (kwok) pod of the same name,
    # with that pod's identity: the token of the ServiceAccount the operator made for the components.
    identity = PodIdentities.of(cluster, bots.namespace, "flow", tmp_path / "identities").env("storage", pod)
    process = components.start(
        "storage",
        "--configmap",
        f"{bots.namespace}/flow-config",
        env={**identity, "TRADINGBOT_STORAGE_SQLITE_PATH": str(tmp_path / "storage.db")},
    )
    process.wait_ready()
    assert process.get("/config").json["generation"] == 1

    patch = json.dumps({"spec": {"config": {"trading": {"profit_target": 0.0123}}}})
    cluster.kubectl("patch", "tradingbot", "flow", "-n", bots.namespace, "--type=merge", "-p", patch)

    applied = wait_until(
        lambda: (lambda c: c if c["config"]["trading"]["profit_target"] == 0.0123 else None)(
            process.get("/config").json
        ),
        timeout=10,
        what="the component to apply the patched profit_target",
    )
    assert applied["generation"] == 2
    assert process.get("/healthz").json["config"]["generation"] == 2
    wait_until(
        lambda: (
            (bots.core.read_namespaced_pod(pod, bots.namespace).metadata.annotations or {}).get(
                "tradingbot.dev/config-generation"
            )
            == "2"
        ),
        timeout=10,
        what="the component to annotate its pod",
    )
    status = bots.wait_for(
        "flow",
        lambda s: next(c for c in s["components"] if c["name"] == "storage").get("configGeneration") == 2,
        timeout=10,
        what="configGeneration in the bot status",
    )
    applied_condition = next(c for c in status["conditions"] if c["type"] == "ConfigApplied")
    assert applied_condition["status"] == "True", applied_condition
    # A hot change: the storage pod was not rolled (same pod, same process).
    assert component_pods(bots.core, bots.namespace, "flow", "storage")[0].metadata.name == pod
