"""Access to the local control plane for tests: reuse the one in .cluster/ or start one (hack/cluster.sh)."""

from __future__ import annotations

import enum
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / "hack" / "cluster.sh"

# The kwok nodes' taint while a real node is up (hack/node.sh): pods go to the real node unless they tolerate it.
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "operator": "Equal", "value": "fake", "effect": "NoSchedule"}


class Placement(enum.Enum):
    """Where a namespace's pods run. FAKE: the kwok nodes (scheduled and marked Ready, no container runs; tests
    fake failures by patching status). REAL: the cluster's default, the real node where there is one."""

    FAKE = "fake"
    REAL = "real"


# Namespace defaults the API server applies to every pod (PodNodeSelector, PodTolerationRestriction admission),
# so a test's bots land on kwok nodes without the test or the operator saying so.
FAKE_NODE_ANNOTATIONS = {
    "scheduler.alpha.kubernetes.io/node-selector": "type=kwok",
    "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([KWOK_TAINT]),
}


@dataclass(frozen=True)
class LocalCluster:
    """A running control plane: where its kubeconfig and version-matched tools are."""

    state_dir: Path

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def kubectl_path(self) -> Path:
        return self.state_dir / "bin" / "kubectl"

    @property
    def helm_path(self) -> Path:
        return self.state_dir / "bin" / "helm"

    @property
    def real_node_skipped(self) -> str | None:
        """Why this cluster has no real node (as cluster-up said), or None when it has one."""
        skipped = self.state_dir / "node.skipped"
        if skipped.exists():
            return skipped.read_text().strip()
        if not (self.state_dir / "node").is_dir():
            return "the cluster was started without a real node"
        return None

    def create_namespace(self, name: str, placement: Placement = Placement.FAKE) -> None:
        """A namespace whose pods go to the kwok nodes (FAKE) or to the cluster's default, the real node."""
        annotations = FAKE_NODE_ANNOTATIONS if placement is Placement.FAKE else {}
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "annotations": annotations},
        }
        self.kubectl("create", "-f", "-", input=json.dumps(manifest))

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; on failure the error names the command and its stderr."""
        cmd = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def restart(self, process: str, *, kill: bool = False, down: float = 0) -> None:
        """Stop one control-plane process (SIGTERM, or SIGKILL), keep it down for `down` seconds and start it
        again; returns once it serves."""
        args = [process, "--down", str(down), *(["--kill"] if kill else [])]
        result = _script("restart", self.state_dir, *args)
        if result.returncode != 0:
            raise AssertionError(f"could not restart {process}; logs are in {self.state_dir / 'logs'}")

    def diagnose(self, lines: int = 8) -> str:
        """For a failure report: `cluster.sh status` (each process running or not), and the end of each
        control-plane process's log."""
        status = _status(self.state_dir).stdout.strip()
        report = [status or f"(no status for {self.state_dir})"]
        for name in dict.fromkeys(line.split(":", 1)[0] for line in status.splitlines()):
            log = self.state_dir / "logs" / f"{name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                report += [f"{log.name}:", *(f"  | {entry[:300]}" for entry in tail)]
        return "\n".join(report)


def _script(
    action: str, state_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(env or {}), "TRADINGBOT_CLUSTER_DIR": str(state_dir)}
    return subprocess.run(
        [str(CLUSTER_SCRIPT), action, *args],
        env=env,
        text=True,
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )


def _status(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state_dir)}
    return subprocess.run(
        [str(CLUSTER_SCRIPT), "status"], env=env, capture_output=True, text=True, check=False
    )


def is_running(state_dir: Path) -> bool:
    return _status(state_dir).returncode == 0


def start(state_dir: Path, *, real_node: bool = True) -> LocalCluster:
    """Start the cluster; with real_node=False only the control plane and the kwok nodes (add_real_node later)."""
    env = None if real_node else {"TRADINGBOT_REAL_NODE": "0"}
    if _script("up", state_dir, env=env).returncode != 0:
        raise RuntimeError(f"could not start the local control plane; logs are in {state_dir / 'logs'}")
    return LocalCluster(state_dir)


def add_real_node(state_dir: Path) -> None:
    """Start the real node beside a running control plane (where it cannot run, node.skipped says why)."""
    if _script("node-up", state_dir).returncode != 0:
        raise RuntimeError(f"could not start the real node; logs are in {state_dir / 'logs'}")


def stop(state_dir: Path) -> None:
    _script("down", state_dir)
