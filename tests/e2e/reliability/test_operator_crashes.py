"""Operator crashes: SIGKILL at random moments while bots start, roll back, change config and tear down.

Each round drives five bots through the lifecycle while a background thread kills the operator and starts it
again. Afterwards every bot must be what its spec asks for: survivors Ready for their current generation
with their latest config, one Deployment, one scaled-up ReplicaSet and one pod per component; deleted bots
gone with everything they owned, no finalizer stuck, no orphan anywhere.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.e2e.reliability.conftest import Sizes
from tests.support.bots import Bots, bot_manifest
from tests.support.chaos import BotExpectation, OperatorKiller, convergence_problems
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import settle, wait_until

UNSCHEDULABLE = {"name": "gateway", "nodeSelector": {"tradingbot.dev/test": "no-such-node"}}
DOOMED_STARTUP = {"phaseTimeoutSeconds": 5, "maxRetries": 1, "rollbackOnFailure": True}
STEP = 300.0  # generous: the operator is down part of the time and the machine is shared


def _phase(bots: Bots, name: str) -> str:
    return bots.status(name).get("phase", "")


def _deployments(bots: Bots, name: str) -> list[Any]:
    return bots.apps.list_namespaced_deployment(
        bots.namespace, label_selector=f"app.kubernetes.io/instance={name}"
    ).items


def _deployments_of(bots: Bots, name: str) -> int:
    return len(_deployments(bots, name))


def _replicas_of(bots: Bots, name: str) -> set[int]:
    return {d.spec.replicas for d in _deployments(bots, name)}


def run_round(bots: Bots, prefix: str, rng: random.Random) -> tuple[list[BotExpectation], list[str]]:
    """One round of the lifecycle for five bots; returns what must survive and what must be gone."""
    hot, restarting, early_delete, late_delete, doomed = (f"{prefix}-{x}" for x in "abcde")
    for name in (hot, restarting, early_delete, late_delete):
        bots.create(bot_manifest(name))
    bots.create(bot_manifest(doomed, startup=DOOMED_STARTUP, components=[UNSCHEDULABLE]))

    # Config changes while the bots are still starting: a hot field and a restart field.
    wait_until(lambda: _deployments_of(bots, hot) > 0, timeout=STEP, what=f"{hot} to start")
    profit = round(rng.uniform(0.001, 0.05), 4)
    bots.patch(hot, {"spec": {"config": {"trading": {"profit_target": profit}}}})
    wait_until(lambda: _deployments_of(bots, restarting) > 0, timeout=STEP, what=f"{restarting} to start")
    pairs = ["XBT/USD", rng.choice(["ETH/USD", "SOL/USD", "ADA/EUR"])]
    bots.patch(restarting, {"spec": {"config": {"trading": {"pairs": pairs}}}})

    # Teardown mid-startup, and of a bot that made it.
    wait_until(lambda: _deployments_of(bots, early_delete) > 0, timeout=STEP, what=f"{early_delete} to start")
    bots.delete(early_delete)
    bots.wait_ready(late_delete, timeout=STEP)
    bots.delete(late_delete)

    # Rollback: the doomed bot times out, retries once, fails and scales down everything its attempt started
    # (kills between starting a component and recording it must not hide it); then its spec is fixed.
    wait_until(
        lambda: _phase(bots, doomed) == "Failed" and _replicas_of(bots, doomed) == {0},
        timeout=STEP,
        what=f"{doomed} to fail and roll back completely",
    )
    bots.patch(
        doomed, {"spec": {"components": [{"name": "gateway"}], "startup": {"phaseTimeoutSeconds": 300}}}
    )

    # A second config change on a bot that may be Ready by now.
    profit_again = round(rng.uniform(0.001, 0.05), 4)
    bots.patch(hot, {"spec": {"config": {"trading": {"profit_target": profit_again}}}})
    alive = [
        BotExpectation(hot, config={"trading.profit_target": profit_again}),
        BotExpectation(restarting, config={"trading.pairs": pairs}),
        BotExpectation(doomed),
    ]
    return alive, [early_delete, late_delete]


@pytest.mark.timeout(3600)
def test_bots_converge_after_random_operator_kills(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots, sizes: Sizes, rng: random.Random
) -> None:
    alive: list[BotExpectation] = []
    gone: list[str] = []
    with OperatorKiller(operator, rng) as killer:
        for round_ in range(sizes.crash_rounds):
            survivors, deleted = run_round(bots, f"r{round_}", rng)
            alive += survivors
            gone += deleted
            killer.wait_for_kills(sizes.kills_per_round * (round_ + 1), timeout=STEP)
    kills = killer.kills
    print(f"{len(kills)} kills at {kills} s")
    assert len(kills) >= sizes.kills_per_round * sizes.crash_rounds

    settle(
        lambda: convergence_problems(cluster, bots.namespace, alive, gone),
        timeout=STEP,
        what="every bot converged to its spec",
    )
    assert operator.process is not None and operator.process.poll() is None

    # The survivors' status agrees with their spec's config (the ConfigMap was checked above).
    for want in alive:
        status: dict[str, Any] = bots.status(want.name)
        assert status["ready"] == "8/8", (want.name, status["ready"])
        valid = next(c for c in status["conditions"] if c["type"] == "ConfigValid")
        assert valid["status"] == "True", (want.name, valid)
