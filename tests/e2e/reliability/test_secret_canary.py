"""A canary in the credentials never leaks: not into ConfigMaps, status, Events, logs, metrics or diagnostics.

The bot's credentials Secret is planted with a recognisable key and secret before the bot exists. The
operator runs the bot; its components then run as real processes, each with the pod identity the operator
gave it (the ServiceAccount token of `<bot>-components`, or `<bot>-credentials` for auth, and the name of a
pod of its Deployment), so they also prove those Roles suffice: they watch their ConfigMap, annotate their
pod, and auth holds its Lease. Once the bot has traded (every order signed with the canary), everything a
person or a scraper could see is searched for the canary in every encoding it has.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentRunner
from tests.support.bot_processes import start_components, write_credentials
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.identities import token_kubeconfig
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

BOT = "canary"


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode(errors="replace")


def canaries() -> tuple[dict[str, str], set[str]]:
    """The Secret's data and every form of it that must never show up (whole, encoded, and long prefixes)."""
    key = f"CANARYKEY{uuid.uuid4().hex}"
    raw_secret = f"CANARYSECRET{uuid.uuid4().hex}".encode()
    secret = base64.b64encode(raw_secret).decode()
    forms = {key, secret, raw_secret.decode(), base64.b64encode(key.encode()).decode()}
    forms |= {base64.b64encode(secret.encode()).decode()}  # as a Secret's data field holds it
    forms |= {form[:16] for form in list(forms)}  # a truncated value is still a leak
    return {"api-key": key, "api-secret": secret}, forms


def test_a_canary_in_the_credentials_appears_nowhere(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots, tmp_path: Path
) -> None:
    namespace = bots.namespace
    data, forbidden = canaries()
    bots.core.create_namespaced_secret(
        namespace, {"metadata": {"name": f"{BOT}-paper-credentials"}, "stringData": data}
    )
    bots.create(bot_manifest(BOT))
    bots.wait_ready(BOT, timeout=180)

    identities = {
        role: token_kubeconfig(cluster, namespace, f"{BOT}-{role}", tmp_path / f"{role}.kubeconfig")
        for role in ("components", "credentials")
    }

    def pod_identity(component: str, deployment: Any) -> dict[str, str]:
        selector = ",".join(f"{k}={v}" for k, v in deployment.spec.selector.match_labels.items())
        pod = bots.core.list_namespaced_pod(namespace, label_selector=selector).items[0]
        role = "credentials" if component == "auth" else "components"
        return {
            "KUBECONFIG": str(identities[role]),
            "POD_NAME": pod.metadata.name,
            "POD_NAMESPACE": namespace,
        }

    credentials = write_credentials(bots, f"{BOT}-paper-credentials", tmp_path / "credentials")
    runner = ComponentRunner(tmp_path / "components")
    (tmp_path / "components").mkdir()
    try:
        started = start_components(runner, bots, BOT, tmp_path, credentials, pod_identity)
        wait_until(
            lambda: [o for o in started["trader"].get("/orders").json["orders"] if o["status"] == "filled"],
            timeout=90,
            what="an order signed with the canary key and filled",
        )
        # The components' own identities were enough: each reported its config generation on its pod.
        wait_until(
            lambda: all(
                "tradingbot.dev/config-generation" in (p.metadata.annotations or {})
                for p in bots.core.list_namespaced_pod(
                    namespace, label_selector=f"app.kubernetes.io/instance={BOT}"
                ).items
            ),
            timeout=60,
            what="every component to annotate its pod",
        )
        leases = json.loads(cluster.kubectl("get", "leases", "-n", namespace, "-o", "json").stdout)["items"]
        assert any(lease["metadata"]["name"].startswith("tradingbot-auth-") for lease in leases), (
            "auth's Lease"
        )

        seen: dict[str, str] = {}
        for name, process in started.items():
            for path in ("/metrics", "/healthz", "/config"):
                seen[f"{name}{path}"] = (
                    process.get(path).body if path == "/metrics" else json.dumps(process.get(path).body)
                )
    finally:
        for process in runner.started:
            if process.process.poll() is None:
                process.terminate(timeout=30)
        runner.cleanup()
    for process in runner.started:
        seen[f"{process.name} log"] = process.log_text()

    seen["operator log"] = operator.log()
    seen["operator /metrics"] = fetch(f"http://127.0.0.1:{operator.metrics_port}/metrics")
    seen["TradingBot"] = json.dumps(bots.get(BOT))
    for kind in ("configmaps", "events", "leases", "pods", "deployments", "services"):
        seen[kind] = cluster.kubectl("get", kind, "-n", namespace, "-o", "json").stdout
    report = tmp_path / "report.zip"
    result = subprocess.run(
        [sys.executable, "-m", "tradingbot_operator.plugin.cli", "--kubeconfig", str(cluster.kubeconfig),
         "-n", namespace, "diagnostics", BOT, "--output", str(report)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(report) as archive:
        for member in archive.namelist():
            seen[f"diagnostics {member}"] = archive.read(member).decode(errors="replace")

    # Control: the search does find the canary where it legitimately is, the Secret itself.
    planted = cluster.kubectl(
        "get", "secret", f"{BOT}-paper-credentials", "-n", namespace, "-o", "json"
    ).stdout
    assert {base64.b64encode(v.encode()).decode() for v in data.values()} <= {
        f for f in forbidden if f in planted
    }
    leaks = sorted(
        {(where, form[:12] + "...") for where, text in seen.items() for form in forbidden if form in text}
    )
    assert not leaks, f"the canary leaked: {leaks}"
    assert len(seen) > 40, sorted(seen)  # everything above was really looked at
