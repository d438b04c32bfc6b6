"""Benchmark: TradingBot apply -> Ready, against the same objects applied unordered (the floor).

Side by side in one run, for N bots (default 1, 20 and 100 - that is 800 Deployments):
  operator  - create N TradingBots; the operator starts each bot's components phase by phase; stop when every
              bot's Ready condition is True (observed through a watch).
  floor     - the very same objects (Secret, ConfigMap, RBAC, NetworkPolicy, Services, claim, Deployments) for
              N bots applied at once, unordered, with the operator's own in-process client and server-side
              apply (reconciler.kube.Kube, the same calls it makes), then a watch until every Deployment is
              available. The floor's namespaces are outside what the operator watches (it runs once for the
              whole benchmark with `--namespace 'bench-op-*'`), so it neither indexes nor reacts to them.
The ratio operator/floor is the cost of phasing. Also reported: the distribution over the runs, API requests per
bot made by the operator (apiserver audit log, its own identity), its CPU time and peak RSS, and the writes it
makes while every bot is Ready and nothing changes (IDLE seconds after the last run of each size; must be 0).

--real-node: one bot whose pods run as containers on the local real node (image imported; storage on its claim),
so "Ready" means the processes started and answer /readyz; without it, kwok nodes (storage on an emptyDir).

usage: python -m bench.operator_startup [--bots 1 20 100] [--runs 10] [--idle 60] [--real-node]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes_asyncio
from kubernetes import client, config, watch

from bench.common import (
    audited_requests,
    ensure_cluster,
    kubernetes_version,
    load_average,
    machine,
    median,
    sample_process,
    write_section,
)
from tests.support.bots import KWOK_STORAGE, bot_manifest
from tests.support.cluster import LocalCluster, Placement
from tests.support.operator import OperatorProcess, install_crd
from tests.support.realnode import import_image
from tests.support.realnode import local as real_node
from tradingbot_operator.api.constants import DEFAULT_IMAGE
from tradingbot_operator.api.types import TradingBotSpec
from tradingbot_operator.planner import desired
from tradingbot_operator.planner.bot import paper_credentials_secret
from tradingbot_operator.planner.catalog import resolve_components
from tradingbot_operator.planner.config import effective_config, public_document, restart_hash
from tradingbot_operator.reconciler.kube import Kube

APPLY_CONCURRENCY = 16  # the floor's in-flight applies (the operator reconciles up to that many bots at once)


def manifest(name: str, real: bool) -> dict[str, Any]:
    return bot_manifest(name) if real else bot_manifest(name, storage=KWOK_STORAGE)


def floor_objects(bot: str, namespace: str, real: bool) -> list[dict]:
    """What the operator would create for one bot, as plain manifests (no owner, all at full replicas)."""
    raw = manifest(bot, real)["spec"]
    spec = TradingBotSpec.model_validate(raw)
    plans = resolve_components(spec, DEFAULT_IMAGE)
    identity = desired.BotIdentity(bot, namespace, spec.exchange.mode, paper_credentials_secret(bot))
    document = public_document(effective_config(spec, raw.get("config") or {}, bot, namespace))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": identity.credentials_secret, "namespace": namespace},
        # As the operator makes it (Kube.create_paper_credentials): the files hold base64 text.
        "type": "Opaque",
        "stringData": {
            "api-key": base64.b64encode(secrets.token_bytes(40)).decode(),
            "api-secret": base64.b64encode(secrets.token_bytes(64)).decode(),
        },
    }
    return [
        secret,
        desired.config_map(identity, document, 1),
        *desired.component_rbac(identity),
        desired.network_policy(identity),
        *(desired.service(identity, p) for p in plans if p.serves),
        *(c for c in (desired.data_claim(identity, p, spec.storage) for p in plans) if c is not None),
        *(
            desired.deployment(
                identity,
                p,
                p.replicas,
                restart_hash(document, p.name, p.builtin),
                None,
                300,
                storage=spec.storage,
            )
            for p in plans
        ),
    ]


async def _apply_all(cluster: LocalCluster, objects: list[dict]) -> None:
    """Server-side apply with the operator's own client class, as the operator does, `APPLY_CONCURRENCY` at once."""
    configuration = kubernetes_asyncio.client.Configuration()
    await kubernetes_asyncio.config.load_kube_config(
        config_file=str(cluster.kubeconfig), client_configuration=configuration
    )
    kube = Kube(kubernetes_asyncio.client.ApiClient(configuration))
    gate = asyncio.Semaphore(APPLY_CONCURRENCY)

    async def one(obj: dict) -> None:
        async with gate:
            await kube.apply(obj)

    try:
        await asyncio.gather(*(one(o) for o in objects))
    finally:
        await kube.close()


def run_floor(cluster: LocalCluster, api: client.ApiClient, namespace: str, bots: int, real: bool) -> float:
    cluster.create_namespace(namespace, Placement.REAL if real else Placement.FAKE)
    objects = [obj for i in range(bots) for obj in floor_objects(f"b{i}", namespace, real)]
    wanted = sum(1 for o in objects if o["kind"] == "Deployment")
    apps = client.AppsV1Api(api)
    version = apps.list_namespaced_deployment(namespace).metadata.resource_version
    started = time.perf_counter()
    asyncio.run(_apply_all(cluster, objects))
    available: set[str] = set()

    def note(deployment: client.V1Deployment) -> None:
        status = deployment.status
        if status and (status.available_replicas or 0) >= (deployment.spec.replicas or 0):
            available.add(deployment.metadata.name)

    deadline = time.monotonic() + 900
    while len(available) < wanted and time.monotonic() < deadline:
        stream = watch.Watch()
        try:
            for event in stream.stream(
                apps.list_namespaced_deployment, namespace, resource_version=version, timeout_seconds=60
            ):
                note(event["object"])
                version = event["object"].metadata.resource_version
                if len(available) == wanted:
                    stream.stop()
        except client.ApiException as error:
            if error.status != 410:
                raise
            # Applying 800 objects can outlast the window for resuming a watch: list, and watch from there.
            listing = apps.list_namespaced_deployment(namespace)
            for deployment in listing.items:
                note(deployment)
            version = listing.metadata.resource_version
    elapsed = time.perf_counter() - started
    if len(available) != wanted:
        raise RuntimeError(f"only {len(available)}/{wanted} Deployments became available")
    return elapsed


def run_operator(
    cluster: LocalCluster, api: client.ApiClient, namespace: str, bots: int, real: bool
) -> float:
    cluster.create_namespace(namespace, Placement.REAL if real else Placement.FAKE)
    time.sleep(2)  # kopf notices the new namespace and starts watching it (outside the clock)
    custom = client.CustomObjectsApi(api)
    listing = custom.list_namespaced_custom_object("tradingbot.dev", "v1alpha1", namespace, "tradingbots")
    stream = watch.Watch()
    started = time.perf_counter()
    for i in range(bots):
        body = manifest(f"b{i}", real)
        custom.create_namespaced_custom_object("tradingbot.dev", "v1alpha1", namespace, "tradingbots", body)
    ready: set[str] = set()
    for event in stream.stream(
        custom.list_namespaced_custom_object,
        "tradingbot.dev",
        "v1alpha1",
        namespace,
        "tradingbots",
        resource_version=listing["metadata"]["resourceVersion"],
        timeout_seconds=900,
    ):
        obj = event["object"]
        conditions = (obj.get("status") or {}).get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            ready.add(obj["metadata"]["name"])
        if len(ready) == bots:
            stream.stop()
    elapsed = time.perf_counter() - started
    if len(ready) != bots:
        raise RuntimeError(f"only {len(ready)}/{bots} bots became Ready")
    return elapsed


def clean_up(cluster: LocalCluster, api: client.ApiClient, namespaces: list[str]) -> None:
    """Delete the runs' bots while the operator still runs (it tears them down and releases its finalizers),
    then their namespaces, and wait until those are gone: a namespace left Terminating would burden the next
    size's runs and later benchmarks. The bots go first because kopf, watching a namespace glob, may stop
    watching a namespace as soon as it is marked for deletion, before its bots' finalizers are released."""
    if not namespaces:
        return
    print(f"cleaning up {len(namespaces)} namespaces", file=sys.stderr)
    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    for ns in namespaces:
        cluster.kubectl("delete", "tradingbots", "--all", "-n", ns, "--wait=false", check=False)
    _wait_until(
        "bots deleted",
        lambda: [
            ns
            for ns in namespaces
            if custom.list_namespaced_custom_object("tradingbot.dev", "v1alpha1", ns, "tradingbots")["items"]
        ],
    )
    for ns in namespaces:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    _wait_until(
        "namespaces deleted",
        lambda: sorted(set(namespaces) & {n.metadata.name for n in core.list_namespace().items}),
    )


def _wait_until(what: str, remaining: Callable[[], list[str]], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (left := remaining()) and time.monotonic() < deadline:
        time.sleep(2)
    if left:
        print(f"{what}: still waiting after {timeout:.0f} s for {', '.join(left)}", file=sys.stderr)


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f} to {ordered[-1]:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--bots", type=int, nargs="+", default=None, help="default: 1 20 100 (1 with --real-node)"
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--large-runs", type=int, default=3, help="runs for sizes of 100 bots and more (each takes minutes)"
    )
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle to count writes in")
    parser.add_argument("--real-node", action="store_true", help="pods run as containers on the real node")
    args = parser.parse_args(argv)
    real = bool(args.real_node)
    sizes = args.bots or ([1] if real else [1, 20, 100])

    cluster = ensure_cluster()
    install_crd(cluster)
    if real:
        found = real_node(cluster)
        problem = found if isinstance(found, str) else import_image(cluster)
        if problem:
            print(f"operator-startup --real-node: skipped: {problem}", file=sys.stderr)
            return 0
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    log_path = cluster.state_dir / "logs" / "bench-operator.log"
    namespaces: list[str] = []
    rows = []
    # One operator for the whole run, watching only the operator runs' namespaces (a kopf glob): the floor's
    # objects, in bench-floor-*, are outside what it watches, so it neither indexes nor reacts to them.
    operator = OperatorProcess(cluster, log_path, "bench-op-*").start()
    time.sleep(3)  # let kopf list and start its watches before the first clock runs
    try:
        for n in sizes:
            clean_up(cluster, api, namespaces)
            namespaces.clear()
            op_times, floor_times, cpu, requests, writes = [], [], [], Counter(), 0
            runs = args.large_runs if n >= 100 else args.runs
            for run in range(runs):
                if real:  # the real node has room for a few bots' containers, not for every run's
                    clean_up(cluster, api, namespaces)
                    namespaces.clear()
                tag = f"{n}-{run}-{secrets.token_hex(2)}"
                floor_ns, op_ns = f"bench-floor-{tag}", f"bench-op-{tag}"
                namespaces += [floor_ns, op_ns]
                floor_times.append(run_floor(cluster, api, floor_ns, n, real))
                pid = operator.process.pid  # type: ignore[union-attr]
                before, since = sample_process(pid), datetime.now(UTC)
                op_times.append(run_operator(cluster, api, op_ns, n, real))
                time.sleep(1)  # requests still in flight for the last status writes
                after = sample_process(pid)
                cpu.append(after.cpu_seconds - before.cpu_seconds)
                counted = audited_requests(  # the run's own namespace: not the resyncs of earlier runs' bots
                    cluster.state_dir / "logs" / "audit.log",
                    "tradingbot-operator",
                    since - timedelta(seconds=1),
                    datetime.now(UTC),
                    namespace=op_ns,
                )
                requests += counted
                writes += sum(v for k, v in counted.items() if k in ("create", "patch", "update", "delete"))
                print(
                    f"bots={n} run={run}: operator {op_times[-1]:.2f}s, floor {floor_times[-1]:.2f}s, "
                    f"requests {sum(counted.values())}",
                    file=sys.stderr,
                )
            # Every bot is Ready and nothing changes: the operator must not write at all.
            idle_from = datetime.now(UTC)
            time.sleep(args.idle)  # the property measured is "nothing happens for this long"
            idle = audited_requests(
                cluster.state_dir / "logs" / "audit.log", "tradingbot-operator", idle_from, datetime.now(UTC)
            )
            idle_writes = sum(v for k, v in idle.items() if k in ("create", "patch", "update", "delete"))
            peak = sample_process(operator.process.pid).peak_rss_mib  # type: ignore[union-attr]
            total_requests = sum(requests.values())
            rows.append(
                (
                    n,
                    op_times,
                    floor_times,
                    total_requests / (n * runs),
                    writes / (n * runs),
                    median(cpu),
                    peak,
                    idle_writes,
                    ", ".join(f"{k} {v / (n * runs):.1f}" for k, v in sorted(requests.items())),
                )
            )
    finally:
        try:
            clean_up(cluster, api, namespaces)
        finally:
            operator.stop()

    where = "the real node: pods run as containers, storage on its claim" if real else "kwok nodes"
    lines = [
        "## Operator: apply → Ready" + (" on real pods" if real else ""),
        "",
        f"Local control plane (Kubernetes {kubernetes_version(cluster)}, {where}), {machine()}, "
        f"load average {load_average()}. {args.runs} runs per size ({args.large_runs} from 100 bots), operator and "
        "floor alternating. *Floor*: the "
        "same objects applied at once, unordered, by the operator's own client with server-side apply "
        f"({APPLY_CONCURRENCY} in flight), until every Deployment is available, in namespaces the operator does not "
        "watch, so it does not index or react to them. *Ratio*: median operator / median floor.",
        "",
        "| bots | operator apply→Ready p50 (range) | floor p50 (range) | ratio | API requests / bot | "
        f"writes / bot | operator CPU / run | operator peak RSS | writes in {args.idle:.0f} s idle |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, op, base, req, wr, cpu_s, peak, idle_w, _ in rows:
        lines.append(
            f"| {n} | {median(op):.2f} s ({spread(op)}) | {median(base):.2f} s ({spread(base)}) | "
            f"{median(op) / median(base):.2f}x | {req:.1f} | {wr:.1f} | {cpu_s:.2f} s | {peak:.0f} MiB | {idle_w} |"
        )
    lines += ["", "Requests by verb, per bot: " + "; ".join(f"{n} bots: {verbs}" for n, *_, verbs in rows)]
    write_section("operator-startup-real-node" if real else "operator-startup", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
