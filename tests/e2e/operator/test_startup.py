"""Startup on the real API server: phase order, gating on readiness, timeouts with rollback, crash recovery."""

from __future__ import annotations

from tests.support.bots import Bots, DeploymentRecorder, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until
from tradingbot_components.config import COMPONENT_NAMES

PHASES = ["Core", "Infrastructure", "Auth", "Network", "Services"]
UNSCHEDULABLE = {"name": "gateway", "nodeSelector": {"tradingbot.dev/test": "no-such-node"}}


def phase_of(bots: Bots, component: str) -> str:
    return bots.deployments()[component].metadata.labels["tradingbot.dev/phase"]


def test_creation_follows_phase_order(operator: OperatorProcess, bots: Bots) -> None:
    with DeploymentRecorder(bots) as recorder:
        bots.create(bot_manifest("ordered"))
        status = bots.wait_ready("ordered")
    created = recorder.created()
    assert sorted(created) == sorted(COMPONENT_NAMES)
    ranks = [PHASES.index(phase_of(bots, c)) for c in created]
    assert ranks == sorted(ranks), f"created out of phase order: {created}"
    assert created.index("portfolio") < created.index("trader")  # dependsOn inside a phase
    assert status["phase"] == "Running" and status["ready"] == "8/8" and status["startupPhase"] == "Complete"
    assert all(c["state"] == "Ready" for c in status["components"])
    for deployment in bots.deployments().values():
        owner = deployment.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.controller) == ("TradingBot", "ordered", True)


def test_unready_component_holds_back_later_phases_until_unblocked(
    operator: OperatorProcess, bots: Bots
) -> None:
    bots.create(bot_manifest("blocked", components=[UNSCHEDULABLE]))
    status = bots.wait_for(
        "blocked",
        lambda s: (
            s.get("startupPhase") == "Network"
            and any(c["name"] == "gateway" and c["state"] == "Starting" for c in s["components"])
        ),
    )
    assert status["phase"] == "Starting"
    progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
    assert progressing["status"] == "True" and "gateway" in progressing["message"]
    assert not {"balance-manager", "portfolio", "trader"} & set(bots.deployments())
    # market-data (same phase, not blocked) is allowed to run
    assert "market-data" in bots.deployments()

    bots.patch("blocked", {"spec": {"components": [{"name": "gateway"}]}})
    status = bots.wait_ready("blocked")
    assert status["ready"] == "8/8"


def test_phase_timeout_with_retries_exhausted_rolls_back(operator: OperatorProcess, bots: Bots) -> None:
    startup = {"phaseTimeoutSeconds": 5, "maxRetries": 1, "rollbackOnFailure": True}
    with DeploymentRecorder(bots) as recorder:
        bots.create(bot_manifest("doomed", startup=startup, components=[UNSCHEDULABLE]))
        status = bots.wait_for(
            "doomed",
            lambda s: (
                s.get("phase") == "Failed" and all(d.spec.replicas == 0 for d in bots.deployments().values())
            ),
            timeout=60,
            what="rollback to finish",
        )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "StartupFailed" and "gateway" in ready["message"]
    assert status["startup"]["failedComponents"] == ["gateway"]
    # One retry restarted the stuck component through its pod template.
    gateway = bots.deployments()["gateway"]
    assert "tradingbot.dev/restartedAt" in gateway.spec.template.metadata.annotations
    # Rollback went in reverse phase order.
    stopped = recorder.scaled_to_zero()
    assert stopped.index("auth") > max(stopped.index("gateway"), stopped.index("market-data"))
    assert stopped.index("storage") > stopped.index("auth")
    reasons = {e.reason for e in bots.core.list_namespaced_event(bots.namespace).items}
    assert {"PhaseTimeout", "StartupFailed", "RollbackStarted"} <= reasons


def test_operator_killed_mid_startup_converges_without_duplicates(
    operator: OperatorProcess, bots: Bots
) -> None:
    bots.create(bot_manifest("phoenix", components=[UNSCHEDULABLE]))
    bots.wait_for("phoenix", lambda s: s.get("startupPhase") == "Network")
    operator.kill()
    bots.patch("phoenix", {"spec": {"components": [{"name": "gateway"}]}})
    operator.start()
    status = bots.wait_ready("phoenix")
    assert status["ready"] == "8/8"
    deployments = bots.apps.list_namespaced_deployment(bots.namespace).items
    assert len(deployments) == 8 and len({d.metadata.name for d in deployments}) == 8
    replica_sets = bots.apps.list_namespaced_replica_set(bots.namespace).items
    live = [rs for rs in replica_sets if rs.spec.replicas]
    assert len(live) == 8, "each component runs exactly one ReplicaSet"
    pods = bots.core.list_namespaced_pod(bots.namespace).items
    wait_until(
        lambda: (
            len(
                [
                    p
                    for p in bots.core.list_namespaced_pod(bots.namespace).items
                    if not p.metadata.deletion_timestamp
                ]
            )
            == 8
        ),
        timeout=30,
        what="8 pods",
    )
    assert len(pods) >= 8
