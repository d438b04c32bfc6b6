"""Alerts reach an optional webhook, retried when it fails, without holding up reconciliation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.pods import component_pods, set_ready
from tests.support.waiting import wait_until


class Receiver:
    """A webhook on 127.0.0.1 that fails its first request (HTTP 503), then accepts."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts == 1:
                    self.send_response(503)
                else:
                    receiver.received.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    webhook = Receiver()
    try:
        yield webhook
    finally:
        webhook.close()


@pytest.fixture
def alerting_operator(
    cluster: LocalCluster, crd: None, namespace: str, tmp_path: Path, receiver: Receiver
) -> Iterator[OperatorProcess]:
    process = OperatorProcess(cluster, tmp_path / "operator.log", namespace, webhook=receiver.url).start()
    try:
        yield process
    finally:
        process.stop()


def test_alerts_are_posted_to_the_webhook_with_retries(
    alerting_operator: OperatorProcess, bots: Bots, receiver: Receiver
) -> None:
    bots.create(bot_manifest("loud", recovery={"enabled": False}))
    bots.wait_ready("loud")
    pod = component_pods(bots.core, bots.namespace, "loud", "gateway")[0].metadata.name
    set_ready(bots.core, bots.namespace, pod, False)
    alert = wait_until(
        lambda: next((a for a in receiver.received if a["reason"] == "ComponentUnhealthy"), None),
        timeout=20,
        what="the ComponentUnhealthy alert at the webhook",
    )
    assert alert["bot"] == "loud" and alert["namespace"] == bots.namespace
    assert alert["component"] == "gateway" and alert["severity"] == "critical"
    assert receiver.attempts >= 2, "the first delivery failed and was retried"
