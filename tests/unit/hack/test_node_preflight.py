"""hack/node.sh's preflight: where a real node cannot run, it names the one reason (cluster-up then goes on
with the kwok nodes only). Each case fakes the machine through PATH shims or the environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = f"""
set -euo pipefail
source '{ROOT}/hack/versions.env'
log() {{ :; }}
source '{ROOT}/hack/node.sh'
node_preflight
"""


def preflight(
    tmp_path: Path, shims: dict[str, str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "shims"
    bin_dir.mkdir(exist_ok=True)
    for name, output in (shims or {}).items():
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\necho {output}\n")
        shim.chmod(0o755)
    environ = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "D": str(tmp_path / "cluster"),
        "CACHE": os.environ.get("TRADINGBOT_CACHE", str(Path.home() / ".cache" / "tradingbot")),
        **env,
    }
    environ.pop("TRADINGBOT_REAL_NODE", None)
    environ.update(env)
    return subprocess.run(["bash", "-c", SCRIPT], env=environ, capture_output=True, text=True, timeout=60)


def test_disabled_by_the_environment(tmp_path: Path) -> None:
    result = preflight(tmp_path, TRADINGBOT_REAL_NODE="0")
    assert result.returncode == 1
    assert result.stdout.strip() == "disabled by TRADINGBOT_REAL_NODE=0"


def test_not_linux(tmp_path: Path) -> None:
    result = preflight(tmp_path, {"uname": "Darwin"})
    assert result.returncode == 1
    assert result.stdout.strip() == "not Linux (Darwin); the kubelet and containerd need Linux"


def test_not_root(tmp_path: Path) -> None:
    result = preflight(tmp_path, {"id": "1000"})
    assert result.returncode == 1
    assert (
        result.stdout.strip() == "not root (uid 1000); the kubelet, containerd and the pod network need root"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="the checks after 'root?' only run as root")
def test_parts_not_built(tmp_path: Path) -> None:
    result = preflight(tmp_path, CACHE=str(tmp_path / "empty-cache"))
    assert result.returncode == 1
    assert result.stdout.startswith(str(tmp_path / "empty-cache"))
    assert result.stdout.strip().endswith("is not built; run 'make node'")


@pytest.mark.skipif(os.geteuid() != 0, reason="the checks after 'root?' only run as root")
def test_subnet_that_clashes_with_a_route(tmp_path: Path, prepared: None) -> None:
    """Needs the node's parts built (`prepared`: make test builds them while the first tests run)."""
    if preflight(tmp_path).returncode != 0:
        pytest.skip("this machine cannot run a real node for another reason")
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout.splitlines()
    connected = next((r.split()[0] for r in routes if "/" in r.split()[0] and "tbbr0" not in r), None)
    if connected is None:
        pytest.skip("no connected IPv4 subnet on this machine to clash with")
    result = preflight(tmp_path, TRADINGBOT_NODE_SUBNET=connected)
    assert result.returncode == 1
    assert f"the pod subnet {connected} or the Service range 10.96.0.0/16 overlaps a route" in result.stdout
    assert "set TRADINGBOT_NODE_SUBNET" in result.stdout
