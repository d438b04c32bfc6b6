"""A component process watching its ConfigMap through a real API server: a patched ConfigMap reaches
`/config` (value and generation) in well under a second, a bad one is rejected, the API wins over a
stale mounted file, and the process reports its generation on its own Pod. Every process and source runs
as the bot's `<bot>-components` ServiceAccount (the operator's Role for it), never as the admin."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.e2e.components.configmaps import ANNOTATION, apply
from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support import cluster as local_cluster
from tests.support.cluster import LocalCluster
from tests.support.identities import PodIdentities, grant_component_rbac
from tests.support.sim import http
from tests.support.waiting import async_wait_until, wait_until
from tradingbot_components.config.kube import api_client
from tradingbot_components.config.sources import ConfigMapSource, SourceDocument

BOT = "bot"  # its ConfigMap is bot-config, the only one its Role lets it read
DEADLINE = 3.0  # generous for CI; the measured latency is asserted separately


def document(tmp_path: Path, profit: float) -> dict[str, Any]:
    return {"trading": {"profit_target": profit}, "storage": {"sqlite_path": str(tmp_path / "s.db")}}


def wait_for(process: ComponentProcess, profit: float, generation: int) -> float:
    """Seconds until `/config` shows `profit` at `generation`."""
    started = time.monotonic()

    def probe() -> bool:
        seen = process.get("/config").json
        return bool(seen["generation"] == generation and seen["config"]["trading"]["profit_target"] == profit)

    wait_until(probe, timeout=DEADLINE, interval=0.02, what=f"generation {generation} in /config")
    return time.monotonic() - started


def identities(cluster: LocalCluster, namespace: str, tmp_path: Path) -> PodIdentities:
    grant_component_rbac(cluster, namespace, BOT)
    return PodIdentities.of(cluster, namespace, BOT, tmp_path / "identities")


def start(
    components: ComponentRunner,
    cluster: LocalCluster,
    namespace: str,
    tmp_path: Path,
    *args: str,
    pod: str | None = None,
) -> ComponentProcess:
    """The storage component with its pod's identity (and name, when `pod` is given)."""
    env = identities(cluster, namespace, tmp_path).env("storage", pod)
    process = components.start("storage", *args, env=env)
    process.wait_ready()
    return process


def test_a_patched_configmap_reaches_the_process_quickly(
    cluster: LocalCluster, namespace: str, components: ComponentRunner, tmp_path: Path
) -> None:
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.006), 3)
    storage = start(components, cluster, namespace, tmp_path, "--configmap", f"{namespace}/bot-config")
    assert storage.get("/config").json["generation"] == 3
    sources = storage.get("/healthz").json["config_sources"]
    assert sources == {f"configmap:{namespace}/bot-config": {"connected": True, "primary": True}}

    latencies = []
    for generation, profit in ((4, 0.007), (5, 0.0075), (6, 0.008)):
        apply(cluster, namespace, "bot-config", document(tmp_path, profit), generation)
        latencies.append(wait_for(storage, profit, generation))
    print(f"ConfigMap -> /config latencies: {[round(x, 3) for x in latencies]}")
    assert min(latencies) < 1.0, latencies  # well under a second
    assert storage.get("/healthz").json["pid"] == storage.pid

    apply(cluster, namespace, "bot-config", document(tmp_path, 7.0), 7)  # invalid: profit_target < 1

    def rejected() -> dict[str, Any] | None:
        config = storage.get("/healthz").json["config"]
        return config if config["last_error"] else None

    config = wait_until(rejected, timeout=DEADLINE, what="the rejection")
    assert config["last_error"]["generation"] == 7
    assert config["last_error"]["errors"][0]["path"] == "trading.profit_target"
    assert storage.get("/config").json["generation"] == 6
    assert storage.get("/readyz").status == 503
    assert "tradingbot_config_rejected_total 1.0" in storage.get("/metrics").body

    apply(cluster, namespace, "bot-config", document(tmp_path, 0.009), 8)
    wait_for(storage, 0.009, 8)
    storage.wait_ready(timeout=DEADLINE)
    assert storage.terminate() == 0


def test_the_api_wins_over_a_stale_mounted_file(
    cluster: LocalCluster, namespace: str, components: ComponentRunner, tmp_path: Path
) -> None:
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.006), 10)
    mounted = tmp_path / "config.json"
    mounted.write_text(json.dumps(document(tmp_path, 0.001)))  # what a lagging kubelet still shows
    storage = start(
        components,
        cluster,
        namespace,
        tmp_path,
        "--config",
        str(mounted),
        "--configmap",
        f"{namespace}/bot-config",
    )
    assert storage.get("/config").json == {**storage.get("/config").json, "generation": 10}
    assert storage.get("/config").json["config"]["trading"]["profit_target"] == 0.006

    mounted.write_text(json.dumps(document(tmp_path, 0.002)))  # ignored while the watch is connected
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.0065), 11)
    wait_for(storage, 0.0065, 11)
    assert not any("file:" in e.get("message", "") and "applied" in e["message"] for e in storage.logs())


def test_the_process_reports_its_generation_on_its_pod(
    cluster: LocalCluster, namespace: str, components: ComponentRunner, tmp_path: Path
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "storage-0"},
        "spec": {"containers": [{"name": "storage", "image": "example.invalid/tradingbot:0"}]},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod))
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.006), 21)
    storage = start(
        components, cluster, namespace, tmp_path, "--configmap", f"{namespace}/bot-config", pod="storage-0"
    )

    def annotated(expected: str) -> bool:
        result = cluster.kubectl("get", "pod", "storage-0", "-n", namespace, "-o", "json")
        return bool(json.loads(result.stdout)["metadata"].get("annotations", {}).get(ANNOTATION) == expected)

    wait_until(lambda: annotated("21"), timeout=DEADLINE, what="generation 21 on the pod")
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.007), 22)
    wait_for(storage, 0.007, 22)
    wait_until(lambda: annotated("22"), timeout=DEADLINE, what="generation 22 on the pod")
    assert storage.get("/healthz").json["pod_reported_generation"] == 22


async def test_the_source_reconnects_with_backoff_while_the_api_is_unreachable(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.006), 1)
    kubeconfig = identities(cluster, namespace, tmp_path).kubeconfig("storage")
    failures = {"left": 2}

    async def flaky_factory() -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("API server unreachable")
        return await api_client({"KUBECONFIG": str(kubeconfig)})

    seen: list[SourceDocument] = []

    async def sink(found: SourceDocument) -> None:
        seen.append(found)

    source = ConfigMapSource(namespace, "bot-config", sink, factory=flaky_factory)
    await source.start()
    try:

        async def delivered(count: int) -> bool:
            return len(seen) >= count and source.connected

        await async_wait_until(lambda: delivered(1), timeout=10, what="the first delivery after reconnecting")
        assert failures["left"] == 0
        assert seen[0].generation == 1 and seen[0].document is not None
        apply(cluster, namespace, "bot-config", document(tmp_path, 0.007), 2)
        await async_wait_until(lambda: delivered(2), timeout=DEADLINE, what="the next change")
        assert seen[-1].generation == 2
        assert len({s.origin for s in seen}) == len(seen)  # nothing delivered twice
    finally:
        await source.stop()


def test_the_identity_reads_only_its_own_configmap(
    cluster: LocalCluster, namespace: str, components: ComponentRunner, tmp_path: Path
) -> None:
    """Proof the processes above run as the ServiceAccount: the admin could read any ConfigMap, the Role one."""
    apply(cluster, namespace, "other-config", document(tmp_path, 0.006), 1)
    env = identities(cluster, namespace, tmp_path).env("storage")
    storage = components.start("storage", "--configmap", f"{namespace}/other-config", env=env)
    assert storage.wait_exit(timeout=60) == 1
    assert "forbidden" in storage.log_text().lower(), storage.log_text()[-2000:]


@pytest.fixture(scope="module")
def uncached_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A control plane of its own whose API server serves watches straight from etcd (`--watch-cache=false`),
    so a watch resumed from a compacted revision really gets 410 Gone (with the watch cache, Kubernetes 1.36
    answers it from the cache's window instead). kwok nodes only; restarting it disturbs no other test."""
    state_dir = tmp_path_factory.mktemp("uncached") / "cluster"
    env = {"TRADINGBOT_REAL_NODE": "0", "TRADINGBOT_APISERVER_ARGS": "--watch-cache=false"}
    with mock.patch.dict(os.environ, env):
        started = local_cluster.start(state_dir)
    try:
        yield started
    finally:
        local_cluster.stop(state_dir)


def compact_etcd(cluster: LocalCluster) -> int:
    """Compact etcd at its current revision (its v3 HTTP gateway on 127.0.0.1); returns that revision."""
    ports = dict(line.split("=", 1) for line in (cluster.state_dir / "ports.env").read_text().split())
    base = f"http://127.0.0.1:{ports['ETCD_PORT']}/v3"
    status = http(f"{base}/maintenance/status", method="POST", body="{}").json
    revision = int(status["header"]["revision"])
    body = json.dumps({"revision": str(revision), "physical": True})
    reply = http(f"{base}/kv/compaction", method="POST", body=body)
    assert reply.status == 200, reply.text
    return revision


async def test_a_watch_resumed_from_a_compacted_revision_gets_410_and_lists_again(
    uncached_cluster: LocalCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cluster, namespace = uncached_cluster, "expiry"
    cluster.kubectl("create", "namespace", namespace)
    apply(cluster, namespace, "bot-config", document(tmp_path, 0.006), 1)
    seen: list[SourceDocument] = []

    async def sink(found: SourceDocument) -> None:
        seen.append(found)

    source = ConfigMapSource(
        namespace, "bot-config", sink, factory=lambda: api_client({"KUBECONFIG": str(cluster.kubeconfig)})
    )
    caplog.set_level(logging.INFO, logger="tradingbot_components.config.sources")
    await source.start()
    try:
        await async_wait_until(
            lambda: _true(len(seen) == 1 and source.connected), timeout=10, what="the first list"
        )
        # Other writes move etcd's revision past the one the watch would resume from; compact up to there.
        for i in range(5):
            cluster.kubectl("create", "configmap", f"other-{i}", "-n", namespace)
        compacted = compact_etcd(cluster)
        assert compacted > int(seen[0].origin.rpartition("@")[2])
        # The API server goes away and comes back: the source resumes from its old revision and is told 410.
        cluster.restart("kube-apiserver")
        await async_wait_until(
            lambda: _true("watch expired (410 Gone); listing again" in caplog.text and source.connected),
            timeout=60,
            what="a 410 Gone, then the list again",
        )
        apply(cluster, namespace, "bot-config", document(tmp_path, 0.007), 2)
        await async_wait_until(
            lambda: _true(seen[-1].generation == 2), timeout=DEADLINE, what="the next change"
        )
        assert [s.generation for s in seen].count(1) == 1  # listing again did not deliver version 1 twice
    finally:
        await source.stop()


async def _true(value: bool) -> bool:
    return value
