"""The real node is the machine's (fixed bridge, cgroup and chain names): a second cluster started while it is
taken comes up with kwok nodes only and says why, and leaves the first one's node alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.cluster import CLUSTER_SCRIPT, LocalCluster
from tests.support.realnode import RealCluster


def _script(action: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state)}
    env.pop("TRADINGBOT_REAL_NODE", None)
    return subprocess.run([str(CLUSTER_SCRIPT), action], env=env, capture_output=True, text=True, timeout=300)


def test_a_second_cluster_says_the_real_node_is_taken(real_cluster: RealCluster, tmp_path: Path) -> None:
    if real_cluster.external:
        pytest.skip("about the local clusters of one machine")
    state = tmp_path / "second"
    started = _script("up", state)
    try:
        assert started.returncode == 0, started.stderr
        first = real_cluster.cluster.state_dir
        assert (
            f"real node: not started: this machine's real node belongs to the cluster in {first} (one per machine); "
            "continuing with the kwok nodes only"
        ) in started.stderr
        second = LocalCluster(state)
        assert second.real_node_skipped and str(first) in second.real_node_skipped
        assert second.kubectl("get", "nodes", "-o", "name").stdout.split() == [
            "node/kwok-node-0",
            "node/kwok-node-1",
        ]
        # Without a real node the kwok nodes stay untainted, so pods still land somewhere.
        taints = second.kubectl("get", "nodes", "-o", "jsonpath={.items[*].spec.taints}").stdout
        assert "kwok.x-k8s.io/node" not in taints
    finally:
        stopped = _script("down", state)
    assert stopped.returncode == 0, stopped.stderr
    assert real_cluster.real_nodes() == ["tradingbot-node"]  # the first cluster's node is untouched
