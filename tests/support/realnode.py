"""A cluster whose pods run as real containers, for the `realnode` e2e tests.

Either the local cluster's real node (hack/node.sh, image imported by hack/image.sh), or an existing cluster
named by TRADINGBOT_E2E_KUBECONFIG (kind in the GitHub workflow, image loaded and chart installed by the job).
Both look like a LocalCluster to the rest of the test support: an external cluster gets a state dir of links
(kubeconfig, bin/kubectl, bin/helm), so Bots, Helm and kubectl helpers work unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.cluster import ROOT, LocalCluster, Placement

CONSTANTS = ROOT / "operator" / "tradingbot_operator" / "api" / "constants.py"
IMAGE_SCRIPT = ROOT / "hack" / "image.sh"
# An operator (the Helm chart) already reconciles every namespace of the external cluster.
OPERATOR_INSTALLED = "TRADINGBOT_E2E_OPERATOR"
EXTERNAL_KUBECONFIG = "TRADINGBOT_E2E_KUBECONFIG"


def default_image() -> str:
    """The operator's default image: what the chart installs and the components run (no registry needed)."""
    match = re.search(r'^DEFAULT_IMAGE = "([^"]+)"$', CONSTANTS.read_text(), re.MULTILINE)
    assert match, f"no DEFAULT_IMAGE in {CONSTANTS}"
    return match.group(1)


@dataclass(frozen=True)
class RealCluster:
    """Where real pods run, and how the tests reach it."""

    cluster: LocalCluster
    external: bool
    operator_installed: bool  # True: do not install an operator, one already watches every namespace
    image: str

    @property
    def node_subnet(self) -> str | None:
        """The local real node's pod subnet (pods there may be dialed from the host), None on external ones."""
        if self.external:
            return None
        return os.environ.get("TRADINGBOT_NODE_SUBNET", "10.234.0.0/24")

    def create_namespace(self, name: str) -> None:
        self.cluster.create_namespace(name, Placement.REAL)

    def real_nodes(self) -> list[str]:
        """Ready nodes that run containers: every node but kwok's."""
        out = self.cluster.kubectl(
            "get", "nodes", "-l", "type!=kwok", "-o",
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ).stdout  # fmt: skip
        return [line.split("=")[0] for line in out.splitlines() if line.endswith("=True")]


def external(tmp_dir: Path) -> RealCluster | None:
    """The cluster TRADINGBOT_E2E_KUBECONFIG names, or None when it is not set."""
    kubeconfig = os.environ.get(EXTERNAL_KUBECONFIG)
    if not kubeconfig:
        return None
    state = tmp_dir / "external-cluster"
    (state / "bin").mkdir(parents=True, exist_ok=True)
    (state / "kubeconfig").symlink_to(Path(kubeconfig).resolve())
    for tool in ("kubectl", "helm"):
        found = shutil.which(tool)
        assert found, f"{tool} must be on PATH to test against {kubeconfig}"
        (state / "bin" / tool).symlink_to(found)
    return RealCluster(
        LocalCluster(state), external=True, operator_installed=bool(os.environ.get(OPERATOR_INSTALLED)),
        image=default_image(),
    )  # fmt: skip


def local(cluster: LocalCluster) -> RealCluster | str:
    """The local cluster's real node, or why there is none (the reason the tests are skipped with)."""
    skipped = cluster.real_node_skipped
    if skipped:
        return f"no real node: {skipped}"
    return RealCluster(cluster, external=False, operator_installed=False, image=default_image())


def import_image(cluster: LocalCluster) -> str | None:
    """Import the built image into the real node's containerd (a no-op when it is there); the reason on failure."""
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(cluster.state_dir)}
    archive = ROOT / "build" / "image" / "tradingbot.oci.tar"
    if not archive.exists():
        return f"no image archive at {archive}: run 'make image'"
    result = subprocess.run(
        [str(IMAGE_SCRIPT), "import"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    sys.stderr.write(result.stderr)
    return None if result.returncode == 0 else f"hack/image.sh import failed: {result.stderr.strip()[-500:]}"
