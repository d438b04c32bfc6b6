"""hack/cluster.sh: a second control plane beside the first (free ports, own state), and a clean stop."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.support.cluster import CLUSTER_SCRIPT, LocalCluster


def _script(action: str, state: Path) -> subprocess.CompletedProcess[str]:
    # Control plane and kwok nodes only: these tests are about them (tests/e2e/realnode covers the real node).
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state), "TRADINGBOT_REAL_NODE": "0"}
    return subprocess.run([str(CLUSTER_SCRIPT), action], env=env, capture_output=True, text=True, timeout=300)


def _pids(state: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(state) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_second_cluster_runs_beside_the_first_and_stops_cleanly(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    state = tmp_path / "second"
    started = _script("up", state)
    try:
        assert started.returncode == 0, started.stderr
        assert (
            "real node: not started: disabled by TRADINGBOT_REAL_NODE=0; continuing with the kwok nodes only"
            in (started.stderr)
        )
        second = LocalCluster(state)
        assert second.kubeconfig.read_text() != cluster.kubeconfig.read_text()  # its own ports and PKI
        nodes = second.kubectl("get", "nodes", "-o", "name").stdout.split()
        assert nodes == ["node/kwok-node-0", "node/kwok-node-1"]
        assert len(_pids(state)) == 5  # etcd, apiserver, controller-manager, scheduler, kwok
        assert _script("up", state).returncode == 0  # reuses what is already up
        assert len(_pids(state)) == 5
        assert cluster.kubectl("get", "nodes").returncode == 0  # the first one is untouched
    finally:
        stopped = _script("down", state)
    assert stopped.returncode == 0, stopped.stderr
    assert _pids(state) == []
    assert not state.exists()


def test_demo_brings_the_example_bot_to_ready_and_cluster_down_stops_everything(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state), "TRADINGBOT_REAL_NODE": "0"}
    assert _script("up", state).returncode == 0
    try:
        demo = subprocess.run(
            [str(CLUSTER_SCRIPT.parent / "demo.sh"), "up"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert demo.returncode == 0, demo.stderr
        assert re.search(r"kraken-main\s+8/8\s+Running\s+Healthy\s+Complete", demo.stdout), demo.stdout
        assert "trader" in demo.stdout and "Stop everything: make cluster-down" in demo.stdout
        operator_pid = int((state / "run" / "operator.pid").read_text())
        assert Path(f"/proc/{operator_pid}").exists()
        stopped = subprocess.run(
            [str(CLUSTER_SCRIPT.parent / "demo.sh"), "down"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stopped.returncode == 0, stopped.stderr
        assert (
            not Path(f"/proc/{operator_pid}").exists()
            or "zombie" in Path(f"/proc/{operator_pid}/status").read_text().lower()
        )
    finally:
        _script("down", state)
    assert _pids(state) == []
