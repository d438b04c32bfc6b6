"""Fixtures for the `realnode` tests: pods that run as real containers, with real probes, restarts and logs.

Layers, each a fixture later tests can build on:
  real_cluster   session: the local cluster's real node (image imported), or the cluster TRADINGBOT_E2E_KUBECONFIG
                 names (kind in CI); every test here is skipped with the reason when there is neither
  real_namespace module: a namespace whose pods go to the real node
  real_operator  module: the operator running in-cluster from the project image (the Helm chart, scoped to
                 real_namespace), or nothing where the cluster already has one (TRADINGBOT_E2E_OPERATOR=1)
  real_bots      module: Bots in real_namespace; its teardown deletes the bots while the operator still runs
A test that needs the whole bot on real pods applies it through real_bots and waits on what it needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chart.helm import Helm
from tests.support import realnode
from tests.support.bots import Bots
from tests.support.cluster import LocalCluster, add_real_node
from tests.support.operator import install_crd
from tests.support.prepared import REAL_NODE_DEFERRED
from tests.support.realnode import RealCluster
from tests.support.waiting import wait_until


@pytest.fixture(scope="session")
def real_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prepared: None
) -> RealCluster:
    external = realnode.external(tmp_path_factory.mktemp("realnode"))
    if external is not None:
        install_crd(external.cluster)
        return external
    cluster: LocalCluster = request.getfixturevalue("cluster")
    if request.config.stash.get(REAL_NODE_DEFERRED, False):
        # The cluster came up while the node's parts were still being built (make test); they are now.
        request.config.stash[REAL_NODE_DEFERRED] = False
        add_real_node(cluster.state_dir)
    found = realnode.local(cluster)
    if isinstance(found, str):
        pytest.skip(found)
    problem = realnode.import_image(cluster)
    if problem:
        pytest.skip(problem)
    install_crd(cluster)
    return found


@pytest.fixture(scope="module")
def real_namespace(real_cluster: RealCluster) -> Iterator[str]:
    name = f"rn-{uuid.uuid4().hex[:8]}"
    real_cluster.create_namespace(name)
    try:
        yield name
    finally:
        real_cluster.cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def real_operator(real_cluster: RealCluster, real_namespace: str) -> Iterator[str | None]:
    """The in-cluster operator's Deployment name (in real_namespace), or None when the cluster brings its own."""
    if real_cluster.operator_installed:
        yield None
        return
    helm = Helm.for_cluster(real_cluster.cluster)
    release = f"tbop-{uuid.uuid4().hex[:6]}"
    values = {"watchNamespaces": [real_namespace], "logFormat": "plain", "verbose": True}
    helm.install(release, real_namespace, values, timeout="3m")
    try:
        yield f"{release}-tradingbot-operator"
    finally:
        helm.uninstall(release, real_namespace, check=False)


@pytest.fixture(scope="module")
def real_bots(real_cluster: RealCluster, real_namespace: str, real_operator: str | None) -> Iterator[Bots]:
    bots = Bots(real_cluster.cluster, real_namespace)
    try:
        yield bots
    finally:
        # While the operator still runs: its finalizer stops the components in reverse phase order.
        names = [b["metadata"]["name"] for b in bots.custom.list_namespaced_custom_object(
            "tradingbot.dev", "v1alpha1", real_namespace, "tradingbots")["items"]]  # fmt: skip
        for name in names:
            bots.delete(name)
        try:
            wait_until(lambda: not any(bots.exists(n) for n in names), timeout=180, what="bots deleted")
        finally:
            bots.api.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.realnode)
