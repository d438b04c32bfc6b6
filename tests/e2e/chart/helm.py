"""The cluster's own helm against the local control plane: lint, render, install and uninstall the chart."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tests.support.cluster import ROOT, LocalCluster

CHART = ROOT / "charts" / "tradingbot-operator"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Helm:
    """helm with --kubeconfig set; `kube_version` is the API server's, for renders that do not ask it."""

    cluster: LocalCluster
    kube_version: str

    @classmethod
    def for_cluster(cls, cluster: LocalCluster) -> Helm:
        version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
        return cls(cluster, version)

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.cluster.helm_path), "--kubeconfig", str(self.cluster.kubeconfig), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"helm {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def template(
        self,
        values: Mapping[str, Any] | None = None,
        *flags: str,
        release: str = "tb",
        namespace: str = "tradingbot-system",
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "template", release, str(CHART), "--namespace", namespace, "--kube-version", self.kube_version,
            *set_json(values), *flags, check=check,
        )  # fmt: skip

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        *flags: str,
        release: str = "tb",
        namespace: str = "tradingbot-system",
    ) -> list[Manifest]:
        """The rendered manifests, parsed (empty documents dropped)."""
        text = self.template(values, *flags, release=release, namespace=namespace).stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def install(
        self, release: str, namespace: str, values: Mapping[str, Any] | None = None, timeout: str = "2m"
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "install", release, str(CHART), "--namespace", namespace, "--wait", "--timeout", timeout,
            *set_json(values), timeout=180,
        )  # fmt: skip

    def upgrade(
        self, release: str, namespace: str, values: Mapping[str, Any] | None = None, timeout: str = "2m"
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            "upgrade", release, str(CHART), "--namespace", namespace, "--reuse-values", "--wait",
            "--timeout", timeout, *set_json(values), timeout=180,
        )  # fmt: skip

    def uninstall(self, release: str, namespace: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(
            "uninstall", release, "--namespace", namespace, "--wait", "--timeout", "2m", check=check
        )


def set_json(values: Mapping[str, Any] | None) -> list[str]:
    """Values as --set-json flags, one per top-level key (no temporary values files)."""
    flags: list[str] = []
    for key, value in (values or {}).items():
        flags += ["--set-json", f"{key}={json.dumps(value)}"]
    return flags


def of_kind(manifests: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: Iterable[Manifest], kind: str) -> Manifest:
    found = of_kind(manifests, kind)
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]
