"""Suspend and delete stop components in reverse phase order, each step waiting for pods to be gone."""

from __future__ import annotations

from tests.support.bots import Bots, DeploymentRecorder, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

PHASE_RANK = {"Infrastructure": 1, "Auth": 2, "Network": 3, "Services": 4}
PHASE = {
    "storage": "Infrastructure",
    "exchange-sim": "Infrastructure",
    "auth": "Auth",
    "gateway": "Network",
    "market-data": "Network",
    "balance-manager": "Services",
    "portfolio": "Services",
    "trader": "Services",
}


def assert_reverse_phase_order(stopped: list[str]) -> None:
    ranks = [PHASE_RANK[PHASE[c]] for c in stopped]
    assert ranks == sorted(ranks, reverse=True), f"stopped out of reverse phase order: {stopped}"
    assert stopped.index("trader") < stopped.index("portfolio") < stopped.index("balance-manager")


def test_suspend_stops_in_reverse_order_and_resume_starts_again(
    operator: OperatorProcess, bots: Bots
) -> None:
    bots.create(bot_manifest("napper"))
    bots.wait_ready("napper")
    with DeploymentRecorder(bots) as recorder:
        bots.patch("napper", {"spec": {"suspend": True}})
        status = bots.wait_for(
            "napper",
            lambda s: (
                s.get("phase") == "Suspended"
                and next(c for c in s["conditions"] if c["type"] == "Progressing")["status"] == "False"
            ),
            what="suspended",
        )
    stopped = recorder.scaled_to_zero()
    assert sorted(stopped) == sorted(PHASE)
    assert_reverse_phase_order(stopped)
    assert all(d.spec.replicas == 0 for d in bots.deployments().values())  # kept, at zero
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Suspended")

    bots.patch("napper", {"spec": {"suspend": False}})
    assert bots.wait_ready("napper")["ready"] == "8/8"


def test_delete_tears_down_in_reverse_order_then_the_bot_goes(operator: OperatorProcess, bots: Bots) -> None:
    bots.create(bot_manifest("goner"))
    bots.wait_ready("goner")
    with DeploymentRecorder(bots) as recorder:
        bots.delete("goner")
        wait_until(lambda: not bots.exists("goner"), timeout=60, what="the TradingBot to be gone")
    assert_reverse_phase_order(recorder.scaled_to_zero())
    # Garbage collection removes the owned children.
    wait_until(lambda: not bots.deployments(), timeout=60, what="Deployments to be garbage-collected")
