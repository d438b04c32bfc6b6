"""Fault injection and end-state checks for the reliability tests: kill the operator at random moments, and
say what (if anything) is wrong with a namespace of bots once the faults stop.

Every check returns a list of problems instead of asserting, so tests can poll it with a deadline
(`waiting.settle`) and report the last list when the cluster does not get there.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tradingbot_components.config import COMPONENT_NAMES

FINALIZER = "tradingbot.dev/finalizer"
INSTANCE = "app.kubernetes.io/instance"
# Every kind the operator (or Kubernetes on its behalf) creates for a bot.
CHILD_KINDS = (
    "deployments.apps",
    "replicasets.apps",
    "pods",
    "configmaps",
    "services",
    "serviceaccounts",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "networkpolicies.networking.k8s.io",
    "persistentvolumeclaims",
    "secrets",
)


class OperatorKiller:
    """SIGKILLs the operator at random moments from a background thread and starts it again.

    The delay before each kill and the downtime after it are drawn from `rng`, so a seed reproduces the
    schedule (the moments the kills land in the operator's work still depend on the machine's speed).
    """

    def __init__(
        self,
        operator: OperatorProcess,
        rng: random.Random,
        *,
        delay: tuple[float, float] = (1.5, 10.0),
        downtime: tuple[float, float] = (0.0, 1.5),
    ) -> None:
        self.operator, self.rng, self.delay, self.downtime = operator, rng, delay, downtime
        self.kills: list[float] = []  # seconds since start, one per kill
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="operator-killer", daemon=True)
        self._started = 0.0
        self.error: BaseException | None = None

    def __enter__(self) -> OperatorKiller:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.rng.uniform(*self.delay)):
                self.operator.kill()
                self.kills.append(round(time.monotonic() - self._started, 2))
                self._stop.wait(self.rng.uniform(*self.downtime))
                self.operator.start()  # even when stopping: the operator must be up afterwards
        except BaseException as error:  # surfaced by stop(); a dead killer must not pass silently
            self.error = error

    def wait_for_kills(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.kills) < count:
            if self.error or time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.kills)} of {count} kills in {timeout}s ({self.error})")
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        if self.error:
            raise AssertionError(f"the operator killer failed: {self.error!r}") from self.error
        if not self.operator.process or self.operator.process.poll() is not None:
            self.operator.start()


@dataclass(frozen=True)
class BotExpectation:
    """What a surviving bot must look like: all components, one pod each, and these config values."""

    name: str
    components: tuple[str, ...] = COMPONENT_NAMES
    config: Mapping[str, Any] = field(default_factory=dict)  # dotted path -> value in config.json


def namespace_objects(cluster: LocalCluster, namespace: str) -> list[dict[str, Any]]:
    """Every object of the child kinds in the namespace (one kubectl call)."""
    out = cluster.kubectl("get", ",".join(CHILD_KINDS), "-n", namespace, "-o", "json").stdout
    return json.loads(out)["items"]


def _bots(cluster: LocalCluster, namespace: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "tradingbots", "-n", namespace, "-o", "json").stdout
    return json.loads(out)["items"]


def _dig(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _condition(bot: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    return next((c for c in (bot.get("status") or {}).get("conditions", []) if c["type"] == type_), {})


def convergence_problems(
    cluster: LocalCluster,
    namespace: str,
    alive: Iterable[BotExpectation],
    gone: Iterable[str],
) -> list[str]:
    """What keeps the namespace from being exactly what the specs ask for; empty when it is.

    Alive bots: Ready for their current generation, one Deployment per component with the expected name,
    one scaled-up ReplicaSet and one running pod per Deployment, the config values in the ConfigMap, only
    the operator's finalizer. Gone bots: no TradingBot (no stuck finalizer) and no object labelled with
    their name. Everywhere: no object owned by a TradingBot that does not exist (orphans).
    """
    problems: list[str] = []
    alive = list(alive)
    bots = {b["metadata"]["name"]: b for b in _bots(cluster, namespace)}
    objects = namespace_objects(cluster, namespace)
    live_uids = {b["metadata"]["uid"] for b in bots.values()}

    def children(kind: str, bot: str) -> list[dict[str, Any]]:
        return [
            o
            for o in objects
            if o["kind"] == kind
            and (o["metadata"].get("labels") or {}).get(INSTANCE) == bot
            and not o["metadata"].get("deletionTimestamp")
        ]

    for want in alive:
        bot = bots.get(want.name)
        if bot is None:
            problems.append(f"{want.name}: TradingBot missing")
            continue
        meta, status = bot["metadata"], bot.get("status") or {}
        if meta.get("finalizers") != [FINALIZER]:
            problems.append(f"{want.name}: finalizers {meta.get('finalizers')}")
        ready = _condition(bot, "Ready")
        if ready.get("status") != "True":
            problems.append(f"{want.name}: Ready={ready.get('status')} ({ready.get('message', '')[:120]})")
        if status.get("observedGeneration") != meta.get("generation"):
            problems.append(
                f"{want.name}: observedGeneration {status.get('observedGeneration')} != {meta.get('generation')}"
            )
        expected = {f"{want.name}-{c}" for c in want.components}
        deployments = children("Deployment", want.name)
        names = sorted(d["metadata"]["name"] for d in deployments)
        if sorted(expected) != names:
            problems.append(f"{want.name}: Deployments {names}, expected {sorted(expected)}")
        by_owner: dict[str, list[str]] = {}
        for rs in children("ReplicaSet", want.name):
            if rs["spec"].get("replicas"):
                owner = next(iter(rs["metadata"].get("ownerReferences") or []), {}).get("name", "?")
                by_owner.setdefault(owner, []).append(rs["metadata"]["name"])
        for deployment in deployments:
            name, replicas = deployment["metadata"]["name"], deployment["spec"].get("replicas")
            if replicas != 1:
                problems.append(f"{name}: replicas {replicas}")
            if len(by_owner.get(name, [])) != 1:
                problems.append(f"{name}: scaled-up ReplicaSets {by_owner.get(name, [])}")
        pods = children("Pod", want.name)
        per_component: dict[str, int] = {}
        for pod in pods:
            component = pod["metadata"]["labels"].get("app.kubernetes.io/component", "?")
            per_component[component] = per_component.get(component, 0) + 1
        crowded = {c: n for c, n in per_component.items() if n != 1}
        if crowded or set(per_component) != set(want.components):
            problems.append(f"{want.name}: pods per component {dict(sorted(per_component.items()))}")
        config_maps = [
            c for c in children("ConfigMap", want.name) if c["metadata"]["name"] == f"{want.name}-config"
        ]
        if not config_maps:
            problems.append(f"{want.name}: ConfigMap {want.name}-config missing")
        else:
            document = json.loads(config_maps[0]["data"]["config.json"])
            for path, value in want.config.items():
                if _dig(document, path) != value:
                    problems.append(
                        f"{want.name}: config {path} = {_dig(document, path)!r}, spec says {value!r}"
                    )
    for name in gone:
        if name in bots:
            bot = bots[name]["metadata"]
            problems.append(
                f"{name}: still exists (deleting={bool(bot.get('deletionTimestamp'))}, "
                f"finalizers={bot.get('finalizers')})"
            )
        left = sorted(
            f"{o['kind']}/{o['metadata']['name']}"
            for o in objects
            if (o["metadata"].get("labels") or {}).get(INSTANCE) == name
        )
        if left:
            problems.append(f"{name}: left behind {left}")
    for obj in objects:
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref["kind"] == "TradingBot" and ref["uid"] not in live_uids:
                problems.append(
                    f"orphan {obj['kind']}/{obj['metadata']['name']} of deleted bot {ref['name']}"
                )
    return problems
