"""Least privilege on the real API server: Pod Security "restricted" admits every bot pod; the operator's
ServiceAccount is granted exactly what the operator's code calls; each component may read only its own bot's
ConfigMap, and only auth may use Leases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chart.helm import Helm
from tests.support.access import (
    AuditLog,
    Grant,
    audited,
    can_i_list,
    rule_permissions,
    service_account,
)
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until
from tradingbot_operator.api.types import ExchangeMode
from tradingbot_operator.planner import desired

CHART = "tradingbot-operator"
CUSTOM = {
    "name": "signals",
    "image": "example.org/signals:1",
    "phase": "Services",
    "dependsOn": ["market-data"],
}


def baseline(cluster: LocalCluster, namespace: str) -> set[Grant]:
    """What any ServiceAccount may do (discovery, self-reviews): subtracted before comparing."""
    cluster.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    return can_i_list(cluster, namespace, service_account(namespace, "nobody"))


def test_bot_pods_are_admitted_under_restricted_pod_security(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots
) -> None:
    cluster.kubectl(
        "label", "namespace", bots.namespace,
        "pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest",
    )  # fmt: skip
    cluster.kubectl("create", "secret", "generic", "keys", "-n", bots.namespace,
                    "--from-literal=api-key=k", "--from-literal=api-secret=c2VjcmV0")  # fmt: skip
    bots.create(bot_manifest("paper", components=[CUSTOM]))
    bots.create(bot_manifest("live", exchange={"mode": "live", "credentialsSecret": "keys"}))
    assert bots.wait_ready("paper", timeout=180)["ready"] == "9/9"
    assert bots.wait_ready("live", timeout=180)["ready"] == "7/7"
    pods = [
        p for p in bots.core.list_namespaced_pod(bots.namespace).items if not p.metadata.deletion_timestamp
    ]
    assert len(pods) == 16
    refused = [
        e.message
        for e in bots.core.list_namespaced_event(bots.namespace).items
        if e.reason == "FailedCreate" or "violates PodSecurity" in (e.message or "")
    ]
    assert not refused, refused


@pytest.fixture
def chart_account(cluster: LocalCluster, namespace: str) -> Iterator[str]:
    """The chart installed for this namespace (Role + scanning ClusterRole); yields its ServiceAccount's name."""
    helm = Helm.for_cluster(cluster)
    release = f"tbop-{uuid.uuid4().hex[:8]}"
    helm.install(release, namespace, {"watchNamespaces": [namespace]})
    try:
        yield f"{release}-{CHART}"
    finally:
        helm.uninstall(release, namespace, check=False)


def test_the_operator_is_granted_exactly_what_its_code_calls(
    cluster: LocalCluster, crd: None, bots: Bots, chart_account: str, tmp_path: Path
) -> None:
    namespace = bots.namespace
    bare = baseline(cluster, namespace)
    granted = {
        g.permission for g in can_i_list(cluster, namespace, service_account(namespace, chart_account)) - bare
    }

    # What the code calls: run the operator under its own (audited) identity through every code path it has,
    # a restart included.
    audit = AuditLog(cluster)
    operator = OperatorProcess(cluster, tmp_path / "operator.log", namespace).start()
    try:
        cluster.kubectl("create", "secret", "generic", "keys", "-n", namespace,
                        "--from-literal=api-key=k", "--from-literal=api-secret=c2VjcmV0")  # fmt: skip
        bots.create(bot_manifest("paper"))  # the paper account Secret is created
        bots.create(bot_manifest("live", exchange={"mode": "live", "credentialsSecret": "keys"}))  # checked
        # Storage on a claim (kwok provisions nothing: it stays Pending, and this bot never gets Ready).
        bots.create(bot_manifest("claimed", storage={"size": "1Gi"}))
        bots.wait_ready("paper", timeout=180)
        bots.wait_ready("live", timeout=180)
        wait_until(
            lambda: bots.core.list_namespaced_persistent_volume_claim(namespace).items,
            timeout=120,
            what="the storage claim",
        )
        operator.kill()  # a restarted operator reads the bots' Core objects before it writes any
        operator.start()
        bots.patch("paper", {"metadata": {"annotations": {"tradingbot.dev/restart": "gateway"}}})
        wait_until(
            lambda: "tradingbot.dev/restart" not in (bots.get("paper")["metadata"].get("annotations") or {}),
            timeout=60,
            what="the restart request to be carried out and cleared",
        )
        bots.patch("paper", {"spec": {"components": [CUSTOM]}})
        wait_until(lambda: "signals" in bots.deployments(), timeout=120, what="the custom component")
        bots.patch("paper", {"spec": {"components": []}})  # pruned: its Deployment is deleted
        wait_until(lambda: "signals" not in bots.deployments(), timeout=120, what="the prune")
        for name in ("paper", "live", "claimed"):
            bots.delete(name)
        wait_until(
            lambda: not any(bots.exists(n) for n in ("paper", "live", "claimed")),
            timeout=180,
            what="teardown",
        )
    finally:
        operator.stop()
    called = audited(audit.events("tradingbot-operator"), namespace)
    # What the code grants: RBAC lets the operator create the components' Roles only with rules it holds.
    identity = desired.BotIdentity("any", namespace, ExchangeMode.PAPER, "any-paper-credentials", "uid")
    delegated = rule_permissions(
        rule for obj in desired.component_rbac(identity) if obj["kind"] == "Role" for rule in obj["rules"]
    )
    needed = called | delegated
    assert granted - needed == set(), f"granted but never used: {sorted(granted - needed)}"
    assert needed - granted == set(), f"used but not granted: {sorted(needed - granted)}"
    assert ("", "secrets", "list") not in granted and ("", "secrets", "watch") not in granted


def test_a_component_reads_only_its_own_configmap_and_only_auth_uses_leases(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots
) -> None:
    namespace = bots.namespace
    for name in ("one", "two"):
        bots.create(bot_manifest(name))
    bots.wait_ready("one", timeout=180)
    bots.wait_ready("two", timeout=180)
    bare = baseline(cluster, namespace)
    components = can_i_list(cluster, namespace, service_account(namespace, "one-components")) - bare
    holder = can_i_list(cluster, namespace, service_account(namespace, "one-credentials")) - bare
    own_config = {Grant("", "configmaps", verb, ("one-config",)) for verb in ("get", "list", "watch")}
    own_pod = {Grant("", "pods", "patch")}
    leases = {Grant("coordination.k8s.io", "leases", verb) for verb in ("get", "create", "update")}
    assert components == own_config | own_pod
    assert holder == own_config | own_pod | leases

    def may(account: str, *request: str) -> bool:
        user = service_account(namespace, account)
        result = cluster.kubectl("auth", "can-i", *request, f"--as={user}", "-n", namespace, check=False)
        return result.stdout.strip() == "yes"

    for account in ("one-components", "one-credentials"):
        assert may(account, "get", "configmap/one-config")
        assert not may(account, "get", "configmap/two-config"), account
        assert not may(account, "list", "configmaps"), account  # only with a field selector on its own name
        assert not may(account, "get", "secrets"), account
    assert may("one-credentials", "create", "leases.coordination.k8s.io")
    assert not may("one-components", "get", "leases.coordination.k8s.io")
    for deployment in bots.apps.list_namespaced_deployment(namespace).items:
        bot = deployment.metadata.labels["app.kubernetes.io/instance"]
        role = (
            "credentials"
            if deployment.metadata.labels["app.kubernetes.io/component"] == "auth"
            else "components"
        )
        assert deployment.spec.template.spec.service_account_name == f"{bot}-{role}", deployment.metadata.name
