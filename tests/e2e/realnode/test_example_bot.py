"""The example bot on real pods: the operator runs in-cluster from the project image, and the bot's
Infrastructure phase (storage, exchange-sim) runs as real containers that reach Ready through their own /readyz.

kwok would report these pods Ready whatever the process did; here the kubelet's probes decide, `kubectl logs`
reads the containers' output, and the pods reach each other through a Service name (CoreDNS, kube-proxy).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from typing import Any

import pytest
from kubernetes import client

from tests.support.bots import Bots, example
from tests.support.pods import component_pods
from tests.support.realnode import RealCluster
from tests.support.waiting import wait_until

BOT = "kraken-main"
INFRASTRUCTURE = ("storage", "exchange-sim")


def _running_ready(pod: client.V1Pod) -> bool:
    statuses = pod.status.container_statuses or []
    return bool(statuses) and all(s.ready and s.state.running for s in statuses)


@pytest.fixture(scope="module")
def infrastructure(real_bots: Bots) -> dict[str, client.V1Pod]:
    """The example bot applied; its storage and exchange-sim pods once their containers are Ready."""
    real_bots.create(example())

    def ready_pods() -> dict[str, client.V1Pod] | None:
        found = {}
        for component in INFRASTRUCTURE:
            pods = [
                p
                for p in component_pods(real_bots.core, real_bots.namespace, BOT, component)
                if _running_ready(p)
            ]
            if not pods:
                return None
            found[component] = pods[0]
        return found

    return wait_until(
        ready_pods, timeout=240, interval=1, what="storage and exchange-sim pods Ready on the real node"
    )


def test_the_operator_runs_in_cluster_from_the_project_image(
    real_cluster: RealCluster, real_bots: Bots, real_operator: str | None
) -> None:
    selector = "app.kubernetes.io/name=tradingbot-operator"
    if real_operator is None:  # the cluster's own (e.g. the chart the kind job installed)
        pods = real_bots.core.list_pod_for_all_namespaces(label_selector=selector).items
    else:
        pods = real_bots.core.list_namespaced_pod(real_bots.namespace, label_selector=selector).items
    assert len(pods) == 1, [p.metadata.name for p in pods]
    pod = pods[0]
    assert pod.spec.node_name in real_cluster.real_nodes()
    status = pod.status.container_statuses[0]
    assert (
        status.image.split("/")[-1] == real_cluster.image.split("/")[-1]
    )  # runtimes may normalize the registry
    assert status.container_id.startswith("containerd://")
    assert status.ready and status.state.running
    # Ready as soon as it runs (the chart has no readiness probe); its first lines follow once Python is up.
    wait_until(
        lambda: real_cluster.cluster.kubectl(
            "logs", "-n", pod.metadata.namespace, pod.metadata.name
        ).stdout.strip(),
        timeout=90,
        interval=1,
        what="the operator's first log lines through kubectl logs",
    )


def test_storage_and_exchange_sim_run_as_real_containers(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    real_nodes = real_cluster.real_nodes()
    for component, pod in infrastructure.items():
        assert pod.spec.node_name in real_nodes, f"{component} is on {pod.spec.node_name}, not a real node"
        container = pod.status.container_statuses[0]
        assert container.container_id.startswith("containerd://"), container
        assert container.image_id, "a real runtime reports the image it ran"
        # Ready came from the kubelet's probe of /readyz, not from a status patch.
        ready = next(c for c in pod.status.conditions if c.type == "Ready")
        assert ready.status == "True" and ready.reason != "Simulated"
        assert pod.spec.containers[0].readiness_probe.http_get.path == "/readyz"
        # The container runs as the image's non-root user.
        assert pod.spec.security_context.run_as_user == 10001
        if real_cluster.node_subnet:
            assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(real_cluster.node_subnet)
            # Pod addresses on the project's own bridge may be dialed from the host.
            with urllib.request.urlopen(f"http://{pod.status.pod_ip}:8080/readyz", timeout=5) as response:
                assert response.status == 200


def test_kubectl_logs_reads_the_containers_output(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    for component, pod in infrastructure.items():
        logs = real_cluster.cluster.kubectl("logs", "-n", real_bots.namespace, pod.metadata.name).stdout
        assert logs.strip(), f"{component}: kubectl logs returned nothing"
        assert component in logs, f"{component} does not name itself in its log:\n{logs[-2000:]}"


def test_pods_reach_each_other_through_service_names(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    """exec into exchange-sim, resolve storage's Service name (CoreDNS) and call it (kube-proxy)."""
    pod = infrastructure["exchange-sim"]
    url = f"http://{BOT}-storage.{real_bots.namespace}.svc:8080/readyz"
    probe = (
        "import json, socket, urllib.request; "
        f"r = urllib.request.urlopen({url!r}, timeout=5); "
        f"print(json.dumps({{'ip': socket.gethostbyname({url.split('/')[2].split(':')[0]!r}), 'status': r.status}}))"
    )
    out = real_cluster.cluster.kubectl(
        "exec", "-n", real_bots.namespace, pod.metadata.name, "--", "python", "-c", probe
    ).stdout
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    service = real_bots.core.read_namespaced_service(f"{BOT}-storage", real_bots.namespace)
    assert answer == {"ip": service.spec.cluster_ip, "status": 200}


def test_the_whole_example_bot_reaches_ready_on_real_pods(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    """Every phase after Infrastructure too: auth, gateway, market-data, balance-manager, portfolio, trader."""

    def ready() -> dict[str, Any] | None:
        condition = real_bots.condition(BOT, "Ready")
        return condition if condition and condition["status"] == "True" else None

    wait_until(ready, timeout=300, interval=2, what=f"{BOT} Ready with every component on real pods")
    assert real_bots.status(BOT)["ready"] == "8/8"
    pods = real_bots.core.list_namespaced_pod(
        real_bots.namespace, label_selector=f"app.kubernetes.io/instance={BOT}"
    )
    real_nodes = real_cluster.real_nodes()
    assert len(pods.items) == 8 and all(p.spec.node_name in real_nodes for p in pods.items)
