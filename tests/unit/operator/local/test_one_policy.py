"""One policy, two shells: the local runner and the operator's reconcile path, fed the same world, make the
same decisions — startup order and gating, events and alerts, safe mode, recovery restarts, teardown order.

The operator side is played the way the reconciler sees a cluster: Deployment and Pod objects read with
`from_deployment`/`from_pod`, grouped with `group_snapshots`, planned with `plan_bot`, Deployments applied
with the API server's generation rule. The local side is the real `LocalRunner` with its processes faked:
a pod's readiness, and whether its container (process) exited, is what the scenario says. Any difference in
ordering or recovery would show here.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.api.constants import Labels
from tradingbot_operator.local.document import load
from tradingbot_operator.local.processes import Pod
from tradingbot_operator.local.runner import LocalRunner
from tradingbot_operator.local.statedir import StateDir
from tradingbot_operator.planner.bot import BotInput, Plan, plan_bot
from tradingbot_operator.planner.config import digest
from tradingbot_operator.planner.observed import from_deployment, from_pod, group_snapshots

ROOT = Path(__file__).resolve().parents[4]
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Cluster:
    """The operator's shell, minus kopf: API objects in, `plan_bot`, Deployments applied."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name, self.spec = name, spec
        self.deployments: dict[str, dict[str, Any]] = {}
        self.status: dict[str, Any] = {}
        self.seen_ready: dict[str, int] = {}
        self.containers: dict[str, tuple[int, datetime | None]] = {}  # component -> restarts, running since

    def container(self, component: str, now: datetime, exited: bool) -> dict[str, Any]:
        """Its container's status as the kubelet writes it: terminated while exited, then running again
        with one more restart."""
        restarts, since = self.containers.get(component, (0, now))
        if exited:
            self.containers[component] = (restarts, None)
            state: dict[str, Any] = {"terminated": {"reason": "Completed", "exitCode": 0}}
            return {"state": state, "restartCount": restarts, "lastState": {}}
        if since is None:
            restarts, since = restarts + 1, now
        self.containers[component] = (restarts, since)
        running = {"running": {"startedAt": since.isoformat()}}
        last = {"terminated": {"reason": "Completed", "exitCode": 0}} if restarts else {}
        return {"state": running, "restartCount": restarts, "lastState": last}

    def reconcile(
        self, now: datetime, failing: set[str], deleting: bool = False, exited: frozenset[str] = frozenset()
    ) -> Plan:
        deployments, pods = [], []
        for component, body in self.deployments.items():
            replicas = body["spec"]["replicas"]
            template = digest(body["spec"]["template"])[:10]
            ready = replicas if component not in failing | exited else 0
            deployments.append(
                {
                    **body,
                    "status": {
                        "observedGeneration": body["metadata"]["generation"],
                        "readyReplicas": ready,
                        "availableReplicas": ready,
                        "updatedReplicas": replicas,
                    },
                }
            )
            if replicas:
                labels = {Labels.COMPONENT: component, "pod-template-hash": template}
                condition = {"type": "Ready", "status": "True" if ready else "False"}
                pods.append(
                    {
                        "metadata": {"name": f"{component}-{template}", "labels": labels},
                        "status": {
                            "conditions": [condition],
                            "containerStatuses": [self.container(component, now, component in exited)],
                        },
                    }
                )
        observed = group_snapshots(
            [from_deployment(d) for d in deployments], [from_pod(p) for p in pods], True, self.seen_ready
        )
        bot = BotInput(self.name, "local", 1, self.spec, self.status, deleting=deleting)
        plan = plan_bot(bot, observed, "local", now)
        for obj in plan.objects:
            if obj["kind"] != "Deployment":
                continue
            component = obj["metadata"]["labels"][Labels.COMPONENT]
            old = self.deployments.get(component)
            generation = 1 if old is None else old["metadata"]["generation"] + (old["spec"] != obj["spec"])
            applied = copy.deepcopy(obj)
            applied["metadata"]["generation"] = generation
            self.deployments[component] = applied
        self.status = plan.status
        return plan


def named_pods_alike(message: str) -> str:
    """Each shell names its pods its own way (the names are not a decision): messages compare without them."""
    return re.sub(r"\(pod [^:]+:", "(pod:", message)


def decisions(plan: Plan) -> dict[str, Any]:
    replicas = {
        o["metadata"]["labels"][Labels.COMPONENT]: o["spec"]["replicas"]
        for o in plan.objects
        if o["kind"] == "Deployment"
    }
    rows = {
        r["name"]: (r["health"], r.get("reason"), r.get("rootCause"), r.get("safeMode", False))
        for r in plan.status.get("components", [])
    }
    return {
        "events": [(e.type, e.reason, named_pods_alike(e.message)) for e in plan.events],
        "replicas": replicas,
        "restarts": sorted(plan.restarts),
        "phase": plan.status.get("phase"),
        "health": plan.status.get("health"),
        "rows": rows,
        "alerts": [
            (a["severity"], a["reason"], named_pods_alike(a["message"]))
            for a in plan.status.get("alerts", [])
        ],
    }


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalRunner:
    monkeypatch.setattr(Pod, "start", lambda self, session: None)  # no process: readiness is scripted
    bot = load(ROOT / "examples" / "local" / "kraken-local.yaml")
    local = LocalRunner(bot, StateDir(tmp_path / "state").create(), watch_file=False)
    local._credentials = tmp_path
    local._session = object()  # type: ignore[assignment]
    return local


FAKE_PID = 999_999  # the faked processes' pid: never signalled (a pod stops its own process object)


def local_reconcile(
    runner: LocalRunner,
    now: datetime,
    failing: set[str],
    deleting: bool = False,
    exited: frozenset[str] = frozenset(),
) -> Plan:
    for workload in runner.workloads.values():
        for pod in workload.current():
            if workload.component in exited:  # what `Pod._run` records when its process exits
                if pod.pid is not None:
                    pod.pid, pod.restarts, pod.last_terminated_reason = None, pod.restarts + 1, "Completed"
            elif pod.pid is None:  # started (again)
                pod.pid, pod.started_at = FAKE_PID, now.timestamp()
            pod.ready = workload.component not in failing | exited
    runner.deleting = deleting
    return runner._reconcile(now)


def test_the_local_runner_and_the_operator_decide_alike(runner: LocalRunner) -> None:
    cluster = Cluster(runner.bot.name, runner._spec)
    now = T0
    started: list[str] = []
    none: frozenset[str] = frozenset()
    gateway = frozenset({"gateway"})
    script = (
        [(set(), False, none)] * 12
        + [({"gateway"}, False, none)] * 4  # running but NotReady: the operator's to restart
        + [(set(), False, none)] * 6
        + [(set(), False, gateway)] * 3  # its process exited: the kubelet's (the runner's) to restart
        + [({"gateway"}, False, none)] * 3  # started again, not Ready yet: still the kubelet's turn
        + [(set(), False, none)] * 6
        + [(set(), True, none)] * 12
    )
    restarted_in: list[int] = []
    for step, (failing, deleting, exited) in enumerate(script):
        ours, theirs = (
            local_reconcile(runner, now, failing, deleting, exited),
            cluster.reconcile(now, failing, deleting, exited),
        )
        assert decisions(ours) == decisions(theirs), f"step {step}: the shells decided differently"
        started += [e.message.split()[1] for e in ours.events if e.reason == "ComponentStarting"]
        restarted_in += [step] * len(ours.restarts)
        now += timedelta(seconds=1)
    reasons = [a["reason"] for a in runner.status["alerts"]]
    assert started == list(COMPONENT_NAMES)
    assert {"RecoveryScale", "RecoveryRestart", "ComponentUnhealthy"} <= set(reasons)
    assert restarted_in and all(12 <= step < 16 for step in restarted_in), restarted_in
    assert reasons.count("RecoveryRestart") == 1
    assert runner.status["phase"] == "Terminating" and not any(
        w.live_pods() for w in runner.workloads.values()
    )


def test_a_stuck_phase_is_retried_then_rolled_back_alike(runner: LocalRunner) -> None:
    cluster = Cluster(runner.bot.name, runner._spec)
    now = T0
    for step in range(40):  # auth never becomes Ready: 3 retries of 120 s, then the rollback
        ours, theirs = local_reconcile(runner, now, {"auth"}), cluster.reconcile(now, {"auth"})
        assert decisions(ours) == decisions(theirs), f"step {step}: the shells decided differently"
        now += timedelta(seconds=30)
    reasons = [a["reason"] for a in runner.status["alerts"]]
    assert reasons.count("PhaseTimeout") == 3 and "StartupFailed" in reasons and "RollbackStarted" in reasons
    assert runner.status["phase"] == "Failed"
    assert not any(w.live_pods() for w in runner.workloads.values())
