"""Access to the local control plane for tests: reuse the one in .cluster/ or start one (hack/cluster.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / "hack" / "cluster.sh"


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

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; on failure the error names the command and its stderr."""
        cmd = [str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def restart(self, process: str, *, kill: bool = False) -> None:
        """Stop one control-plane process (SIGTERM, or SIGKILL) and start it again; returns once it serves."""
        args = [process, "--kill"] if kill else [process]
        result = _script("restart", self.state_dir, *args)
        if result.returncode != 0:
            raise AssertionError(f"could not restart {process}; logs are in {self.state_dir / 'logs'}")


def _script(action: str, state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state_dir)}
    return subprocess.run(
        [str(CLUSTER_SCRIPT), action, *args],
        env=env,
        text=True,
        stdout=sys.stderr,
        stderr=sys.stderr,
        check=False,
    )


def is_running(state_dir: Path) -> bool:
    env = {**os.environ, "TRADINGBOT_CLUSTER_DIR": str(state_dir)}
    result = subprocess.run(
        [str(CLUSTER_SCRIPT), "status"], env=env, capture_output=True, text=True, check=False
    )
    return result.returncode == 0


def start(state_dir: Path) -> LocalCluster:
    if _script("up", state_dir).returncode != 0:
        raise RuntimeError(f"could not start the local control plane; logs are in {state_dir / 'logs'}")
    return LocalCluster(state_dir)


def stop(state_dir: Path) -> None:
    _script("down", state_dir)
