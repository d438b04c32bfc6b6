"""The chart on the real API server: install, roll out under Pod Security "restricted", authorize, uninstall.

kwok marks the operator's pod Ready although no container runs, so `helm install --wait` proves the objects
are valid and the rollout completes. Whether the RBAC is enough is proven by running the real operator
process with the chart's ServiceAccount token and taking a paper bot to Ready and through deletion.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from tests.e2e.chart import operator_access as access
from tests.e2e.chart.helm import Helm
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.identities import token_kubeconfig
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

CHART_NAME = "tradingbot-operator"


class Authorizer:
    """SubjectAccessReviews for one ServiceAccount: what the API server would let it do."""

    def __init__(self, cluster: LocalCluster, namespace: str, account: str) -> None:
        self.api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
        self.user = f"system:serviceaccount:{namespace}:{account}"
        self.groups = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            "system:authenticated",
        ]

    def allows(self, permission: access.Permission, namespace: str | None = None) -> bool:
        group, resource, verb = permission
        resource, _, subresource = resource.partition("/")
        attributes = client.V1ResourceAttributes(
            group=group, resource=resource, subresource=subresource or None, verb=verb, namespace=namespace
        )
        review = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=self.user, groups=self.groups, resource_attributes=attributes
            )
        )
        result = client.AuthorizationV1Api(self.api).create_subject_access_review(review)
        return bool(result.status.allowed)

    def denied(self, permissions: set[access.Permission], namespace: str | None = None) -> list[str]:
        return sorted("/".join(p) for p in permissions if not self.allows(p, namespace))

    def close(self) -> None:
        self.api.close()


@pytest.fixture
def installed(helm: Helm, namespace: str, release: str) -> Iterator[str]:
    """Yields the release's full name; uninstalls whatever the test left installed."""
    yield f"{release}-{CHART_NAME}"
    helm.uninstall(release, namespace, check=False)


def exists(cluster: LocalCluster, *what: str) -> bool:
    result = cluster.kubectl("get", *what, "--ignore-not-found", "-o", "name", check=False)
    return bool(result.stdout.strip())


def test_install_rolls_out_under_restricted_pod_security_upgrades_and_uninstalls(
    helm: Helm, cluster: LocalCluster, namespace: str, release: str, installed: str
) -> None:
    # The API server runs PodSecurity admission: a non-compliant pod would never be created.
    cluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    helm.install(release, namespace)

    rollout = cluster.kubectl("get", "deployment", installed, "-n", namespace, "-o", "yaml").stdout
    assert yaml.safe_load(rollout)["status"].get("availableReplicas") == 1
    assert "STATUS: deployed" in helm.run("status", release, "--namespace", namespace).stdout

    authorizer = Authorizer(cluster, namespace, installed)
    try:
        workload = access.permissions(access.WORKLOAD)
        for where in (namespace, "default"):  # cluster-wide: any namespace
            assert not authorizer.denied(workload, where), where
        assert not authorizer.denied(access.SCAN_CRDS.permissions())
        for permission in {*access.NEVER, ("", "secrets", "delete"), ("apps", "deployments", "update")}:
            assert not authorizer.allows(permission, namespace), permission
        assert not authorizer.allows(("", "nodes", "list"))
    finally:
        authorizer.close()

    # Switching to namespace-scoped is an upgrade: the ClusterRole gives way to a Role, the pod gets the flag.
    helm.upgrade(release, namespace, {"watchNamespaces": [namespace]})
    assert not exists(cluster, "clusterrole", installed)
    assert exists(cluster, "role", installed, "-n", namespace)
    args = "jsonpath={.spec.template.spec.containers[0].args}"
    assert (
        f"--namespace={namespace}"
        in cluster.kubectl("get", "deployment", installed, "-n", namespace, "-o", args).stdout
    )

    helm.uninstall(release, namespace)
    for what in (
        ("deployment", installed, "-n", namespace),
        ("serviceaccount", installed, "-n", namespace),
        ("service", f"{installed}-metrics", "-n", namespace),
        ("role", installed, "-n", namespace),
        ("rolebinding", installed, "-n", namespace),
        ("clusterrole", f"{installed}-scanning"),
        ("clusterrolebinding", f"{installed}-scanning"),
    ):
        assert not exists(cluster, *what), f"{what} left behind by helm uninstall"


def test_operator_runs_a_bot_with_only_the_namespaced_charts_rbac(
    helm: Helm, cluster: LocalCluster, namespace: str, release: str, installed: str, crd: None, tmp_path: Path
) -> None:
    helm.install(release, namespace, {"watchNamespaces": [namespace]})
    authorizer = Authorizer(cluster, namespace, installed)
    try:
        assert not authorizer.denied(access.permissions(access.WORKLOAD), namespace)
        assert not authorizer.allows(("apps", "deployments", "create"), "default"), "unwatched namespace"
    finally:
        authorizer.close()

    as_chart = token_kubeconfig(cluster, namespace, installed, tmp_path / "as-chart.kubeconfig")
    operator = OperatorProcess(cluster, tmp_path / "operator.log", namespace, kubeconfig=as_chart).start()
    bots = Bots(cluster, namespace)
    try:
        bots.create(bot_manifest("charted"))
        status = bots.wait_ready("charted", timeout=120)
        assert status["ready"] == "8/8"
        bots.delete("charted")
        wait_until(lambda: not bots.exists("charted"), timeout=90, what="teardown to release the finalizer")
    except BaseException:
        print(f"--- operator log ---\n{operator.log()[-8000:]}")
        raise
    finally:
        operator.stop()
        if bots.exists("charted"):  # a failed run must not leave a finalizer that blocks namespace deletion
            bots.patch("charted", {"metadata": {"finalizers": None}})
        bots.api.close()
    # kopf and the reconciler log every 403 (kopf's scanning says "Not enough permissions").
    complaints = [
        line
        for line in operator.log().splitlines()
        if "forbidden" in line.lower() or "not enough permissions" in line.lower()
    ]
    assert not complaints, "the operator hit RBAC limits:\n" + "\n".join(complaints[:10])
