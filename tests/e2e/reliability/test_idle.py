"""An idle operator writes nothing, not even when its safety resync re-checks every object.

The resync (every 5 minutes; 10 s here through TRADINGBOT_RESYNC_SECONDS) forgets what the operator applied
and compares each of a bot's objects with the live one again. The audit log must show those reads and not a
single write from the operator while every bot is Ready and nothing changes.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from tests.support.access import AuditLog
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

WRITES = {"create", "patch", "update", "delete"}
WINDOW = 30.0  # three resyncs


def operator_requests(audit: AuditLog, namespace: str) -> list[dict]:
    return [
        e
        for e in audit.events("tradingbot-operator")
        if (e.get("objectRef") or {}).get("namespace") == namespace
    ]


def test_an_idle_operator_writes_nothing_across_its_safety_resyncs(
    cluster: LocalCluster, crd: None, bots: Bots, tmp_path: Path
) -> None:
    with mock.patch.dict(os.environ, {"TRADINGBOT_RESYNC_SECONDS": "10"}):
        operator = OperatorProcess(cluster, tmp_path / "operator.log", bots.namespace).start()
    try:
        bots.create(bot_manifest("idle"))
        bots.wait_ready("idle", timeout=180)
        since = AuditLog(cluster)

        def quiet() -> bool:  # the last status write has landed: no write for 5 s
            recent = datetime.now(UTC) - timedelta(seconds=5)
            return not any(
                e["verb"] in WRITES and datetime.fromisoformat(e["requestReceivedTimestamp"]) > recent
                for e in operator_requests(since, bots.namespace)
            )

        wait_until(quiet, timeout=120, interval=1, what="the operator to settle")
        window = AuditLog(cluster)
        time.sleep(WINDOW)  # the property under test is "nothing is written for this long"
        requests = operator_requests(window, bots.namespace)
        writes = [f"{e['verb']} {e['requestURI']}" for e in requests if e["verb"] in WRITES]
        rechecks = [e for e in requests if e["verb"] == "get" and e["objectRef"]["resource"] == "configmaps"]
        assert not writes, writes
        assert len(rechecks) >= 2, "the resync did not run (it reads each object)"
    except BaseException:
        print(f"--- operator log ---\n{operator.log()[-8000:]}")
        raise
    finally:
        operator.stop()
