"""The local control plane behaves like a real cluster where the operator's tests rely on it."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, config

from tests.support.cluster import LocalCluster
from tests.support.waiting import wait_until

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]},
        },
    },
}


@pytest.fixture
def api(cluster: LocalCluster) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cluster.kubeconfig))


def _ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _create_web(cluster: LocalCluster, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(DEPLOYMENT))


def test_nodes_are_ready(api: client.ApiClient) -> None:
    nodes = client.CoreV1Api(api).list_node().items
    ready = [
        n.metadata.name
        for n in nodes
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    ]
    assert len(ready) >= 2, f"expected at least 2 Ready kwok nodes, got {ready}"


def test_deployment_pods_run_ready_on_kwok_nodes(
    cluster: LocalCluster, api: client.ApiClient, namespace: str
) -> None:
    _create_web(cluster, namespace)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    wait_until(
        lambda: (apps.read_namespaced_deployment("web", namespace).status.available_replicas or 0) == 3,
        timeout=90,
        what="3 available replicas",
    )
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3
    node_names = {n.metadata.name for n in core.list_node().items}
    for pod in pods:
        assert pod.spec.node_name in node_names, f"{pod.metadata.name} is not bound to a kwok node"
        assert pod.status.phase == "Running"
        assert _ready(pod)


def test_pod_not_ready_patch_sticks_and_drops_available(
    cluster: LocalCluster, api: client.ApiClient, namespace: str
) -> None:
    _create_web(cluster, namespace)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    wait_until(
        lambda: (apps.read_namespaced_deployment("web", namespace).status.available_replicas or 0) == 3,
        timeout=90,
        what="3 available replicas",
    )
    victim = core.list_namespaced_pod(namespace, label_selector="app=web").items[0].metadata.name

    not_ready = [
        {"type": "Ready", "status": "False", "reason": "Simulated"},
        {"type": "ContainersReady", "status": "False", "reason": "Simulated"},
    ]
    core.patch_namespaced_pod_status(victim, namespace, {"status": {"conditions": not_ready}})

    wait_until(
        lambda: apps.read_namespaced_deployment("web", namespace).status.available_replicas == 2,
        timeout=60,
        what="available replicas to drop to 2",
    )
    # The deployment controller has seen the change; the fake kubelet must not have reverted it.
    assert not _ready(core.read_namespaced_pod(victim, namespace))
    assert apps.read_namespaced_deployment("web", namespace).status.ready_replicas == 2


def test_server_side_dry_run_validates_without_creating(cluster: LocalCluster, namespace: str) -> None:
    manifest = json.dumps(DEPLOYMENT)
    result = cluster.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=manifest)
    assert "(server dry run)" in result.stdout
    assert cluster.kubectl("get", "deployment", "web", "-n", namespace, check=False).returncode != 0

    broken = json.loads(manifest)
    broken["spec"]["replicas"] = -1
    rejected = cluster.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(broken), check=False
    )
    assert rejected.returncode != 0
    assert "spec.replicas" in rejected.stderr
