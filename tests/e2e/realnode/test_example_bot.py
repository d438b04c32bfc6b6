"""The example bot on real pods: the operator runs in-cluster from the project image (the Helm chart), the bot's
components run as real containers that reach Ready through their own /readyz, the config each one runs is
reported back (ConfigApplied), the trader trades on paper against the simulator pod, a hot change reaches the
processes by the API watch and later the mounted file, the kubelet restarts a container that exits and the status
counts it, and an unavailable exchange shows as the gateway's failure with the trader held, then recovers.

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

from tests.support.bots import Bots, bot_manifest, example
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


# The bot is Ready on real pods from here on. The tests below read it through its own processes, change its
# config, restart a container and break the exchange; the fault tests come last.


def pod_of(real_bots: Bots, component: str) -> client.V1Pod:
    pods = [
        p for p in component_pods(real_bots.core, real_bots.namespace, BOT, component) if _running_ready(p)
    ]
    assert pods, f"no running {component} pod"
    return pods[0]


def call(
    real_cluster: RealCluster, real_bots: Bots, component: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    """An HTTP call to a component's own port from inside its container (127.0.0.1 in the pod's network
    namespace), so it works on the local node and on kind alike; the JSON answer."""
    pod = pod_of(real_bots, component)
    script = (
        "import json, sys, urllib.request; "
        f"data = {json.dumps(body).encode() if body is not None else None!r}; "
        f"r = urllib.request.Request('http://127.0.0.1:8080{path}', data=data, "
        "headers={'Content-Type': 'application/json'}); "
        "print(urllib.request.urlopen(r, timeout=10).read().decode())"
    )
    out = real_cluster.cluster.kubectl(
        "exec", "-n", real_bots.namespace, pod.metadata.name, "--", "python", "-c", script
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(real_bots: Bots, component: str) -> dict[str, Any]:
    return next(c for c in real_bots.status(BOT)["components"] if c["name"] == component)


def test_config_is_applied_in_every_container_and_the_bot_trades_on_paper(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    real_bots.wait_ready(BOT, timeout=300)
    # Each component patched its pod with the config generation it runs; the operator saw all of them.
    applied = real_bots.wait_for(
        BOT,
        lambda s: (
            next((c for c in s.get("conditions", []) if c["type"] == "ConfigApplied"), {}).get("status")
            == "True"
        ),
        timeout=120,
        what="ConfigApplied True",
    )
    generation = applied["config"]["generation"]
    assert {c["name"]: c["configGeneration"] for c in applied["components"]} == {
        c["name"]: generation for c in applied["components"]
    }
    # The trader's strategy entered a position against the simulator pod: an order the exchange acknowledged.
    orders = wait_until(
        lambda: [
            o
            for o in call(real_cluster, real_bots, "trader", "/orders")["orders"]
            if o.get("exchange_order_id")
        ],
        timeout=120,
        interval=2,
        what="an order acknowledged by the simulator",
    )
    assert all(o["cl_ord_id"] for o in orders)
    stats = call(real_cluster, real_bots, "exchange-sim", "/_sim/stats")
    assert stats["requests"].get("AddOrder", 0) >= 1


def test_a_hot_change_reaches_the_containers_by_watch_and_the_mounted_file(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    before = {c["name"]: c["restarts"] for c in real_bots.status(BOT)["components"]}
    pids = {name: pod_of(real_bots, name).metadata.uid for name in before}
    generation = real_bots.status(BOT)["config"]["generation"]
    real_bots.patch(BOT, {"spec": {"config": {"trading": {"profit_target": 0.006}}}})

    # The API watch: every component runs the new generation, and the trader prices with it.
    real_bots.wait_for(
        BOT,
        lambda s: (
            s["config"]["generation"] > generation
            and all(c.get("configGeneration") == s["config"]["generation"] for c in s["components"])
        ),
        timeout=60,
        what="every component to run the new config generation",
    )
    assert call(real_cluster, real_bots, "trader", "/config")["config"]["trading"]["profit_target"] == 0.006
    # Hot: the same pods, no container restarted.
    assert {name: pod_of(real_bots, name).metadata.uid for name in before} == pids
    assert {c["name"]: c["restarts"] for c in real_bots.status(BOT)["components"]} == before

    # The kubelet refreshes the mounted ConfigMap on its own schedule (about a minute here).
    pod = pod_of(real_bots, "trader")

    def mounted() -> bool:
        text = real_cluster.cluster.kubectl(
            "exec", "-n", real_bots.namespace, pod.metadata.name, "--", "cat", "/etc/tradingbot/config.json"
        ).stdout
        return json.loads(text)["trading"]["profit_target"] == 0.006

    wait_until(mounted, timeout=180, interval=3, what="the mounted config file to show the change")


def test_storage_keeps_every_write_and_the_nonce_mark_across_a_new_pod(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    """storage sits on a PersistentVolumeClaim (the default) that the provisioner bound to a volume on the real
    node; a new pod (the old one deleted, as on a reschedule) finds every acknowledged write and the nonce mark."""
    claim = real_bots.core.read_namespaced_persistent_volume_claim(f"{BOT}-storage-data", real_bots.namespace)
    assert claim.status.phase == "Bound" and claim.spec.storage_class_name, claim.status
    volume = real_bots.core.read_persistent_volume(claim.spec.volume_name)
    terms = volume.spec.node_affinity.required.node_selector_terms if volume.spec.node_affinity else []
    pinned = {v for t in terms for e in t.match_expressions or [] for v in e.values or []}
    assert pinned <= set(real_cluster.real_nodes()), pinned
    assert not claim.metadata.owner_references, "reclaim Retain: the claim is not owned by the bot"

    key_id = call(real_cluster, real_bots, "auth", "/v1/key")["key_id"]
    orders = {
        o["client_order_id"]: o
        for o in call(real_cluster, real_bots, "storage", "/v1/orders?limit=1000")["orders"]
    }
    mark = int(call(real_cluster, real_bots, "storage", f"/v1/nonce/{key_id}")["high_water"])
    assert orders and mark > 0, "the bot has traded, so storage holds orders and a nonce mark"

    old = pod_of(real_bots, "storage")
    real_bots.core.delete_namespaced_pod(old.metadata.name, real_bots.namespace)
    new = wait_until(
        lambda: next((p for p in component_pods(real_bots.core, real_bots.namespace, BOT, "storage")
                      if p.metadata.uid != old.metadata.uid and _running_ready(p)), None),
        timeout=180, interval=1, what="a new storage pod Ready",
    )  # fmt: skip
    assert new.spec.volumes[
        [v.name for v in new.spec.volumes].index("data")
    ].persistent_volume_claim.claim_name == (f"{BOT}-storage-data")
    after = {
        o["client_order_id"]: o
        for o in call(real_cluster, real_bots, "storage", "/v1/orders?limit=1000")["orders"]
    }
    assert orders.keys() <= after.keys(), sorted(orders.keys() - after.keys())
    assert int(call(real_cluster, real_bots, "storage", f"/v1/nonce/{key_id}")["high_water"]) >= mark
    # The bot carries on: the next signed calls reserve nonces above the old mark.
    real_bots.wait_ready(BOT, timeout=180)
    wait_until(
        lambda: int(call(real_cluster, real_bots, "storage", f"/v1/nonce/{key_id}")["high_water"]) > mark,
        timeout=120, interval=2, what="nonces above the mark from before the new pod",
    )  # fmt: skip


def test_a_container_that_exits_is_restarted_by_the_kubelet_and_counted(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    pod = pod_of(real_bots, "portfolio")
    restarts = row(real_bots, "portfolio")["restarts"]
    # SIGTERM to the container's main process: it shuts down cleanly and exits; the kubelet starts it again.
    real_cluster.cluster.kubectl(
        "exec",
        "-n",
        real_bots.namespace,
        pod.metadata.name,
        "--",
        "python",
        "-c",
        "import os; os.kill(1, 15)",
    )

    def restarted() -> client.V1Pod | None:
        now = real_bots.core.read_namespaced_pod(pod.metadata.name, real_bots.namespace)
        statuses = now.status.container_statuses or []
        return now if statuses and statuses[0].restart_count > 0 and _running_ready(now) else None

    again = wait_until(
        restarted, timeout=120, interval=1, what="the kubelet to restart the portfolio container"
    )
    assert again.metadata.uid == pod.metadata.uid, "the same pod, its container restarted"
    real_bots.wait_for(
        BOT,
        lambda s: next(c for c in s["components"] if c["name"] == "portfolio")["restarts"] > restarts,
        timeout=60,
        what="the status to count the restart",
    )
    real_bots.wait_ready(BOT, timeout=120)


def test_an_unavailable_exchange_degrades_to_the_gateway_holds_the_trader_and_recovers(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    real_bots.wait_ready(BOT, timeout=120)
    call(real_cluster, real_bots, "exchange-sim", "/_sim/faults", {"mode": "unavailable"})
    try:

        def held(status: dict[str, Any]) -> bool:
            trader = next(c for c in status["components"] if c["name"] == "trader")
            degraded = next((c for c in status.get("conditions", []) if c["type"] == "Degraded"), {})
            return (
                bool(trader["safeMode"])
                and trader.get("rootCause") == "gateway"
                and degraded.get("status") == "True"
            )

        status = real_bots.wait_for(
            BOT, held, timeout=180, what="the trader held by safe mode with root cause gateway"
        )
        gateway = next(c for c in status["components"] if c["name"] == "gateway")
        assert gateway["health"] in ("Unhealthy", "Degraded"), gateway
        assert (
            real_bots.apps.read_namespaced_deployment(f"{BOT}-trader", real_bots.namespace).spec.replicas == 0
        )
    finally:
        call(real_cluster, real_bots, "exchange-sim", "/_sim/faults", {"mode": "none"})

    # Cleared: the gateway's circuit closes, the trader is restored, the bot is Ready and Healthy again.
    real_bots.wait_for(
        BOT,
        lambda s: (
            s.get("health") == "Healthy"
            and not next(c for c in s["components"] if c["name"] == "trader")["safeMode"]
            and next((c for c in s.get("conditions", []) if c["type"] == "Ready"), {}).get("status") == "True"
        ),
        timeout=240,
        what="the bot Healthy again with the trader restored",
    )
    assert real_bots.apps.read_namespaced_deployment(f"{BOT}-trader", real_bots.namespace).spec.replicas == 1


def test_a_component_that_never_becomes_ready_is_reported_with_its_probes_reason(
    real_cluster: RealCluster, real_bots: Bots, infrastructure: dict[str, client.V1Pod]
) -> None:
    """A second bot whose market-data is pointed at a closed port: its /readyz never passes, and the reason it
    gives (which the kubelet's probe does not carry) reaches the component's row through its Pod."""
    manifest = bot_manifest(
        "stuck",
        components=[
            {
                "name": "market-data",
                "env": [{"name": "TRADINGBOT_ENDPOINTS_EXCHANGE_WS", "value": "ws://127.0.0.1:9/v2"}],
            }
        ],
    )
    real_bots.create(manifest)
    try:
        status = real_bots.wait_for(
            "stuck",
            lambda s: (
                "exchange-feed"
                in next((c for c in s.get("components", []) if c["name"] == "market-data"), {}).get(
                    "message", ""
                )
            ),
            timeout=240,
            what="market-data's row to give the reason its /readyz gives",
        )
        row_ = next(c for c in status["components"] if c["name"] == "market-data")
        assert row_["ready"] == "0/1" and row_["health"] != "Healthy", row_
        assert "(pod stuck-market-data-" in row_["message"] and "Unhealthy: " in row_["message"], row_
        pod = next(p for p in component_pods(real_bots.core, real_bots.namespace, "stuck", "market-data"))
        ready = next(c for c in pod.status.conditions if c.type == "Ready")
        assert ready.status == "False"
        assert pod.metadata.annotations.get("tradingbot.dev/not-ready"), pod.metadata.annotations
        # Phases after Network wait for it.
        assert status["startupPhase"] == "Network" and status["ready"] != "8/8"
    finally:
        real_bots.delete("stuck")
