"""Fixtures for the kubectl plugin's e2e tests: the operator fixtures, and the plugin run as a real process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.operator.conftest import bots, operator, pytest_runtest_makereport
from tests.support.cluster import ROOT, LocalCluster

__all__ = ["bots", "operator", "pytest_runtest_makereport"]

Plugin = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def plugin(cluster: LocalCluster, namespace: str) -> Plugin:
    """Run `kubectl-tradingbot ARGS` (as `python -m`, the console script may not be installed) in the
    test's namespace with the cluster's kubeconfig."""

    def run(*args: str, timeout: float = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "tradingbot_operator.plugin.cli",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-n",
            namespace,
            *args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)

    return run
