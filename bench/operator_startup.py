"""Benchmark: TradingBot apply -> Ready, against the same Deployments applied unordered (the floor).

For N bots (1, 20 and 100 - that is 800 Deployments) on the local control plane, side by side in one run:
  operator  - create N TradingBots; the operator starts each bot's components phase by phase; stop when every
              bot's Ready condition is True (observed through a watch).
  baseline  - `kubectl apply` the very same objects (ConfigMap, RBAC, Services, Deployments, Secret) for N bots
              at once, unordered, then `kubectl rollout status` until all are available.
The ratio operator/baseline is the cost of phasing. Also reported: API requests per bot made by the operator
(from the apiserver audit log, its own identity), the operator's CPU time and RSS, and the writes it makes while
every bot is Ready and nothing changes (IDLE seconds after the last run of each size; must be 0).

usage: python -m bench.operator_startup [--bots 1 20 100] [--runs 3] [--idle 60]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from kubernetes import client, config, watch

from bench.common import (
    audited_requests,
    ensure_cluster,
    kubernetes_version,
    machine,
    median,
    sample_process,
    write_section,
)
from tests.support.bots import KWOK_STORAGE, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess, install_crd
from tradingbot_operator.api.constants import DEFAULT_IMAGE
from tradingbot_operator.api.types import TradingBotSpec
from tradingbot_operator.planner import desired
from tradingbot_operator.planner.bot import paper_credentials_secret
from tradingbot_operator.planner.catalog import resolve_components
from tradingbot_operator.planner.config import effective_config, public_document, restart_hash

SPEC = bot_manifest("x", storage=KWOK_STORAGE)["spec"]


def baseline_objects(bot: str, namespace: str) -> list[dict]:
    """What the operator would create for one bot, as plain manifests (no owner, all at full replicas)."""
    spec = TradingBotSpec.model_validate(SPEC)
    plans = resolve_components(spec, DEFAULT_IMAGE)
    identity = desired.BotIdentity(bot, namespace, spec.exchange.mode, paper_credentials_secret(bot))
    document = public_document(effective_config(spec, SPEC.get("config") or {}, bot, namespace))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": identity.credentials_secret},
        "data": {
            "api-key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "api-secret": base64.b64encode(secrets.token_bytes(64)).decode(),
        },
    }
    return [
        secret,
        desired.config_map(identity, document, 1),
        *desired.component_rbac(identity),
        desired.network_policy(identity),
        *(desired.service(identity, p) for p in plans if p.serves),
        *(
            desired.deployment(identity, p, p.replicas, restart_hash(document, p.name, p.builtin), None, 300)
            for p in plans
        ),
    ]


def run_baseline(cluster: LocalCluster, namespace: str, bots: int) -> float:
    cluster.create_namespace(namespace)  # kwok nodes: benchmarks measure the control plane at scale
    items = [obj for i in range(bots) for obj in baseline_objects(f"b{i}", namespace)]
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    started = time.perf_counter()
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest, timeout=900)
    cluster.kubectl(
        "rollout",
        "status",
        "deployment",
        "-n",
        namespace,
        "-l",
        "app.kubernetes.io/name=tradingbot",
        "--timeout=900s",
        timeout=960,
    )
    return time.perf_counter() - started


def run_operator(cluster: LocalCluster, api: client.ApiClient, namespace: str, bots: int) -> float:
    cluster.create_namespace(namespace)  # kwok nodes: benchmarks measure the control plane at scale
    custom = client.CustomObjectsApi(api)
    listing = custom.list_namespaced_custom_object("tradingbot.dev", "v1alpha1", namespace, "tradingbots")
    stream = watch.Watch()
    started = time.perf_counter()
    for i in range(bots):
        body = bot_manifest(f"b{i}", storage=KWOK_STORAGE)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle to count writes in")
    args = parser.parse_args(argv)

    cluster = ensure_cluster()
    install_crd(cluster)
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    log_path = cluster.state_dir / "logs" / "bench-operator.log"
    operator = OperatorProcess(cluster, log_path).start()
    namespaces: list[str] = []
    rows = []
    try:
        time.sleep(3)  # let kopf start its watches before the clock runs
        pid = operator.process.pid  # type: ignore[union-attr]
        for n in args.bots:
            op_times, base_times, cpu, requests, writes = [], [], [], Counter(), 0
            for run in range(args.runs):
                tag = f"{n}-{run}-{secrets.token_hex(2)}"
                base_ns, op_ns = f"bench-base-{tag}", f"bench-op-{tag}"
                namespaces += [base_ns, op_ns]
                base_times.append(run_baseline(cluster, base_ns, n))
                before, since = sample_process(pid), datetime.now(UTC)
                op_times.append(run_operator(cluster, api, op_ns, n))
                time.sleep(1)  # requests still in flight for the last status writes
                after = sample_process(pid)
                cpu.append(after.cpu_seconds - before.cpu_seconds)
                counted = audited_requests(
                    cluster.state_dir / "logs" / "audit.log",
                    "tradingbot-operator",
                    since - timedelta(seconds=1),
                    datetime.now(UTC),
                )
                requests += counted
                writes += sum(v for k, v in counted.items() if k in ("create", "patch", "update", "delete"))
                print(
                    f"bots={n} run={run}: operator {op_times[-1]:.2f}s, baseline {base_times[-1]:.2f}s, "
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
            peak = sample_process(pid).peak_rss_mib
            total_requests = sum(requests.values())
            rows.append(
                (
                    n,
                    median(op_times),
                    median(base_times),
                    total_requests / (n * args.runs),
                    writes / (n * args.runs),
                    median(cpu),
                    peak,
                    idle_writes,
                    ", ".join(f"{k} {v / (n * args.runs):.1f}" for k, v in sorted(requests.items())),
                )
            )
    finally:
        operator.stop()
        for ns in namespaces:
            cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)

    lines = [
        "## Operator: apply → Ready",
        "",
        f"Local control plane (Kubernetes {kubernetes_version(cluster)}, kwok nodes), {machine()}. "
        f"Median of {args.runs} runs. *Baseline*: the same objects applied unordered with `kubectl apply`, "
        "awaited with `kubectl rollout status` — the floor that phasing adds to.",
        "",
        "| bots | operator apply→Ready | baseline apply→rollout | ratio | API requests / bot | writes / bot | "
        f"operator CPU | operator peak RSS | writes in {args.idle:.0f} s idle |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, op, base, req, wr, cpu_s, peak, idle_w, _ in rows:
        lines.append(
            f"| {n} | {op:.2f} s | {base:.2f} s | {op / base:.2f}x | {req:.1f} | {wr:.1f} | "
            f"{cpu_s:.2f} s | {peak:.0f} MiB | {idle_w} |"
        )
    lines += ["", "Requests by verb, per bot: " + "; ".join(f"{n} bots: {verbs}" for n, *_, verbs in rows)]
    write_section("operator-startup", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
