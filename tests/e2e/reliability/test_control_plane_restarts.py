"""Control-plane restarts: kube-apiserver restarted three times and etcd once, each in the middle of a reconcile.

The test runs its own control plane (a separate state dir, kwok nodes only), so restarting it disturbs no
other test. The operator is started once and never again: after every restart it must notice changes through
its re-established watches (each wait is shorter than the operator's 300 s safety resync, so a stale watch
would fail the test) and converge. At the end the operator is still the same process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from tests.support import cluster as local_cluster
from tests.support.bots import Bots, bot_manifest
from tests.support.chaos import BotExpectation, convergence_problems
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess, install_crd, running_operator
from tests.support.waiting import settle, wait_until

NAMESPACE = "restarts"
REACT = 150.0  # < the operator's 300 s safety period: only live watches can make it in time


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    state_dir = tmp_path_factory.mktemp("restartable") / "cluster"
    with mock.patch.dict(os.environ, {"TRADINGBOT_REAL_NODE": "0"}):
        started = local_cluster.start(state_dir)
    try:
        install_crd(started)
        started.kubectl("create", "namespace", NAMESPACE)
        yield started
    finally:
        local_cluster.stop(state_dir)


def deployments_of(bots: Bots, name: str) -> int:
    return len(
        bots.apps.list_namespaced_deployment(
            NAMESPACE, label_selector=f"app.kubernetes.io/instance={name}"
        ).items
    )


def config_value(bots: Bots, bot: str, section: str, key: str) -> object:
    data = bots.core.read_namespaced_config_map(f"{bot}-config", NAMESPACE).data["config.json"]
    return json.loads(data)[section][key]


@pytest.fixture
def operator(
    own_cluster: LocalCluster, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The operator, started once and never again (its log is printed when the test fails)."""
    with running_operator(own_cluster, tmp_path / "operator.log", NAMESPACE, request) as process:
        yield process


def still_running(operator: OperatorProcess) -> bool:
    return operator.process is not None and operator.process.poll() is None


@pytest.fixture
def bots(own_cluster: LocalCluster) -> Iterator[Bots]:
    handle = Bots(own_cluster, NAMESPACE)
    yield handle
    handle.api.close()


@pytest.mark.timeout(1800)
def test_operator_reconnects_and_converges_through_apiserver_and_etcd_restarts(
    own_cluster: LocalCluster, operator: OperatorProcess, bots: Bots
) -> None:
    # 1. kube-apiserver, graceful stop (SIGTERM), while bot "alpha" starts.
    bots.create(bot_manifest("alpha"))
    wait_until(lambda: deployments_of(bots, "alpha") > 0, timeout=REACT, what="alpha to start")
    own_cluster.restart("kube-apiserver")
    bots.wait_ready("alpha", timeout=REACT)

    # 2. kube-apiserver killed right after a config change, before the operator can have applied it.
    bots.patch("alpha", {"spec": {"config": {"trading": {"profit_target": 0.011}}}})
    own_cluster.restart("kube-apiserver", kill=True)
    wait_until(
        lambda: config_value(bots, "alpha", "trading", "profit_target") == 0.011,
        timeout=REACT,
        what="alpha's config change to reach its ConfigMap",
    )

    # 3. etcd killed while bot "beta" starts.
    bots.create(bot_manifest("beta"))
    wait_until(lambda: deployments_of(bots, "beta") > 0, timeout=REACT, what="beta to start")
    own_cluster.restart("etcd", kill=True)
    try:
        bots.wait_ready("beta", timeout=REACT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nthe control plane:\n{own_cluster.diagnose()}") from None

    # 4. kube-apiserver killed right after a restart-field change, which rolls five Deployments.
    bots.patch("beta", {"spec": {"config": {"trading": {"pairs": ["XBT/USD", "SOL/USD"]}}}})
    own_cluster.restart("kube-apiserver", kill=True)

    # After all that, changes made now are acted on at watch speed, not at the next safety resync.
    bots.patch("alpha", {"spec": {"config": {"trading": {"profit_target": 0.012}}}})
    wait_until(
        lambda: config_value(bots, "alpha", "trading", "profit_target") == 0.012,
        timeout=60,
        what="a change after the last restart to reach alpha's ConfigMap",
    )
    bots.create(bot_manifest("gamma"))
    alive = [
        BotExpectation("alpha", config={"trading.profit_target": 0.012}),
        BotExpectation("beta", config={"trading.pairs": ["XBT/USD", "SOL/USD"]}),
        BotExpectation("gamma"),
    ]
    settle(
        lambda: convergence_problems(own_cluster, NAMESPACE, alive, []),
        timeout=REACT,
        what="every bot converged after the restarts",
    )
    assert still_running(operator), "the operator exited"
    assert "Traceback" not in operator.log(), "an outage is expected: it must not log tracebacks"


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_operator_outlives_an_apiserver_outage_longer_than_its_clients_retries(
    own_cluster: LocalCluster, operator: OperatorProcess, bots: Bots
) -> None:
    """kube-apiserver away for 90 s: longer than kopf retries one request (about a minute), so every watch
    gives up at least once and must be started again; the operator keeps running and acts on changes."""
    bots.create(bot_manifest("delta"))
    wait_until(lambda: deployments_of(bots, "delta") > 0, timeout=REACT, what="delta to start")
    own_cluster.restart("kube-apiserver", kill=True, down=90)
    bots.wait_ready("delta", timeout=REACT)
    bots.patch("delta", {"spec": {"config": {"trading": {"profit_target": 0.013}}}})
    wait_until(
        lambda: config_value(bots, "delta", "trading", "profit_target") == 0.013,
        timeout=60,
        what="a change after the outage to reach delta's ConfigMap",
    )
    assert "escalating" in operator.log(), "the outage was too short to exhaust the client's retries"
    assert still_running(operator), "the operator exited"
