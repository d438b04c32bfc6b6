"""Taking the real node down leaves nothing behind on the machine, and bringing it back restores it.

Runs last among the realnode tests (file order) on the session cluster: `hack/cluster.sh node-down` is what
`cluster-down` runs first, and the checks are what it promises: processes, mounts, the bridge, iptables chains,
cgroups, sysctls and state gone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import realnode
from tests.support.cluster import CLUSTER_SCRIPT, KWOK_TAINT
from tests.support.realnode import RealCluster

BRIDGE = "tbbr0"
CGROUP = "tradingbot-node"
CLAIM = Path("/run/tradingbot-real-node")


def _script(action: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state)}
    return subprocess.run([str(CLUSTER_SCRIPT), action], env=env, capture_output=True, text=True, timeout=300)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{proc.name}: {cmdline[:160]}")
    return found


def _chains() -> set[str]:
    chains = set()
    for save in ("iptables-save", "ip6tables-save"):
        out = subprocess.run([save], capture_output=True, text=True).stdout
        chains |= {line[1:].split()[0] for line in out.splitlines() if line.startswith(":")}
    return chains


def _kwok_tainted(real_cluster: RealCluster) -> bool:
    out = real_cluster.cluster.kubectl(
        "get", "nodes", "-l", "type=kwok", "-o", "jsonpath={.items[*].spec.taints[*].key}"
    )
    return KWOK_TAINT["key"] in out.stdout


def test_node_down_removes_everything_it_made_and_node_up_restores_it(real_cluster: RealCluster) -> None:
    if real_cluster.external:
        pytest.skip("the machine-level teardown is the local real node's")
    state = real_cluster.cluster.state_dir
    node = state / "node"
    saved_sysctls = dict(
        line.split("=", 1) for line in (node / "sysctls.saved").read_text().splitlines() if "=" in line
    )
    chains_before = set((node / "iptables-chains.before").read_text().split())
    made_paths = (node / "made-paths").read_text().split()
    assert _kwok_tainted(real_cluster)

    down = _script("node-down", state)
    assert down.returncode == 0, down.stderr
    try:
        assert _processes_mentioning(str(node)) == []
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        assert [m for m in mounts if m.startswith(str(state))] == []
        assert subprocess.run(["ip", "link", "show", BRIDGE], capture_output=True).returncode != 0
        leftover = {c for c in _chains() - chains_before if c.startswith(("KUBE-", "CNI-"))}
        assert leftover == set()
        assert (
            list(Path("/sys/fs/cgroup").glob(f"*/{CGROUP}")) + list(Path("/sys/fs/cgroup").glob(CGROUP)) == []
        )
        for key, value in saved_sysctls.items():
            assert Path("/proc/sys", *key.split(".")).read_text().strip() == value, key
        assert [
            p for p in made_paths if Path(p).exists()
        ] == []  # /var/lib/kubelet, /var/lib/cni, ... it created
        assert [
            link for link in Path("/var/log/containers").glob("*") if str(state) in str(link.readlink())
        ] == []
        assert not node.exists() and not CLAIM.exists()
        assert not _kwok_tainted(real_cluster)  # without a real node, pods go to the kwok nodes again
        assert "real node: none" in _script("status", state).stdout
    finally:
        up = _script("node-up", state)
    assert up.returncode == 0, up.stderr
    assert "real node tradingbot-node Ready" in up.stderr, up.stderr
    assert real_cluster.real_nodes() == ["tradingbot-node"]
    assert _kwok_tainted(real_cluster)
    assert realnode.import_image(real_cluster.cluster) is None
