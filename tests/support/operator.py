"""Run the operator as a real process against the local control plane, for e2e tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.cluster import ROOT, LocalCluster

CRD = ROOT / "crds" / "tradingbot.dev_tradingbots.yaml"


def install_crd(cluster: LocalCluster) -> None:
    """Apply the repository's CRD (server-side, taking over fields) and wait until it is served."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    cluster.kubectl("wait", "--for=condition=Established", "crd/tradingbots.tradingbot.dev", "--timeout=60s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OperatorProcess:
    """`tradingbot-operator` started with the cluster's kubeconfig, logging to a file."""

    def __init__(
        self,
        cluster: LocalCluster,
        log_path: Path,
        namespace: str | None = None,
        webhook: str | None = None,
        kubeconfig: Path | None = None,
    ) -> None:
        self.cluster, self.log_path, self.namespace, self.webhook = cluster, log_path, namespace, webhook
        # By default the operator's own audited identity; tests may hand it another (e.g. a ServiceAccount's).
        self.kubeconfig = kubeconfig or cluster.state_dir / "operator.kubeconfig"
        self.metrics_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        self.metrics_port = free_port()
        args = [
            sys.executable,
            "-m",
            "tradingbot_operator.cli",
            "--liveness",
            f"http://127.0.0.1:{free_port()}/healthz",
            "--verbose",
            "--log-format",
            "full",  # timestamps, to line its log up with the cluster's
            "--metrics-address",
            f"127.0.0.1:{self.metrics_port}",
        ]
        if self.webhook:
            args += ["--alert-webhook", self.webhook]
        if self.namespace:
            args += ["--namespace", self.namespace]
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# kopf's debug lines for every watch event (--verbose): most of a log, and no news in a failure report.
ROUTINE = (
    "Indexer 'bot_",
    "Something has changed, but we are not interested",
    "Handling cycle is finished, waiting for new changes.",
)


@contextmanager
def running_operator(
    cluster: LocalCluster, log_path: Path, namespace: str, request: Any
) -> Iterator[OperatorProcess]:
    """The operator scoped to `namespace` for one test; stopped after it, its log's tail printed when it failed
    (`request` is the test's pytest FixtureRequest; the `rep_call` report comes from the conftest hooks)."""
    process = OperatorProcess(cluster, log_path, namespace).start()
    try:
        yield process
    finally:
        process.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            lines = [line for line in process.log().splitlines() if not any(n in line for n in ROUTINE)]
            print(
                f"--- operator log ({process.log_path}), without kopf's routine lines, last 12000 characters ---"
                f"\n{chr(10).join(lines)[-12000:]}"
            )
