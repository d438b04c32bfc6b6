"""Errors people can act on: a missing bot, and RBAC refusing the plugin's identity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from kubernetes import client

from tests.e2e.plugin.conftest import Plugin
from tests.support.bots import Bots
from tests.support.cluster import ROOT, LocalCluster


def test_a_missing_bot_names_the_bot_and_namespace(crd: None, plugin: Plugin, namespace: str) -> None:
    for command in (
        ["status", "ghost"],
        ["health", "ghost"],
        ["restart", "ghost", "auth"],
        ["diagnostics", "ghost"],
    ):
        result = plugin(*command)
        assert result.returncode == 3, (command, result.stderr)
        assert result.stderr.strip() == f"error: TradingBot 'ghost' not found in namespace '{namespace}'"


def service_account_kubeconfig(cluster: LocalCluster, bots: Bots, tmp_path: Path) -> Path:
    """A kubeconfig for a fresh ServiceAccount that no Role grants anything."""
    bots.core.create_namespaced_service_account(bots.namespace, {"metadata": {"name": "nobody"}})
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
    )
    token = bots.core.create_namespaced_service_account_token("nobody", bots.namespace, request).status.token
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"],
        "users": [{"name": "nobody", "user": {"token": token}}],
        "contexts": [
            {
                "name": "nobody",
                "context": {
                    "cluster": admin["clusters"][0]["name"],
                    "user": "nobody",
                    "namespace": bots.namespace,
                },
            }
        ],
        "current-context": "nobody",
    }
    path = tmp_path / "nobody.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_no_permission_says_what_was_refused(
    crd: None, cluster: LocalCluster, bots: Bots, namespace: str, tmp_path: Path
) -> None:
    kubeconfig = service_account_kubeconfig(cluster, bots, tmp_path)
    base = [sys.executable, "-m", "tradingbot_operator.plugin.cli", "--kubeconfig", str(kubeconfig)]
    for command in (["status", "kraken"], ["list"]):
        result = subprocess.run([*base, *command], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert result.returncode == 5, (command, result.stderr)
        assert result.stderr.startswith("error: permission denied to ")
        assert f"in namespace '{namespace}'" in result.stderr  # the namespace came from the context
        assert "nobody" in result.stderr and "forbidden" in result.stderr
