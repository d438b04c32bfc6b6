"""What the planner knows about the cluster: typed snapshots of a bot's Deployments and Pods.

The reconciler builds these from API objects (`from_deployment`, `from_pod`); the planner never sees raw dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tradingbot_operator.api.constants import Annotations, Labels


@dataclass(frozen=True)
class ObservedPod:
    name: str
    component: str
    ready: bool
    terminating: bool
    restarts: int = 0
    waiting_reason: str | None = None  # e.g. CrashLoopBackOff
    last_terminated_reason: str | None = None  # e.g. OOMKilled
    config_generation: int | None = None
    template_hash: str | None = None  # pod-template-hash: which ReplicaSet it belongs to
    was_ready: bool = False  # the operator saw this pod Ready before (so NotReady now is a real transition)
    not_ready_why: str | None = None  # what holds it back: the scheduler's or the container runtime's message
    container_running: bool = True  # every container is running (False: exited, waiting to start again)
    running_since: float | None = None  # epoch seconds: when its (latest started) container started
    restarted_since_ready: bool = False  # its containers restarted since the operator last saw it Ready

    @property
    def kubelet_restarting(self) -> bool:
        """Seen Ready, NotReady now because its container exited: the kubelet restarts it (restartPolicy
        Always), or already did and it is not Ready yet."""
        return (
            self.was_ready and not self.ready and (not self.container_running or self.restarted_since_ready)
        )


@dataclass(frozen=True)
class ObservedDeployment:
    component: str
    generation: int
    observed_generation: int
    replicas: int
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    applied_hash: str | None = None
    restarted_at: str | None = None
    progress_deadline_exceeded: bool = False
    uid: str = ""
    started_by: int | None = None  # the startup attempt that scaled it up (Annotations.STARTED_BY)

    @property
    def rolled_out_ready(self) -> bool:
        """The controller has seen the current spec and every desired replica is updated and available."""
        return (
            self.observed_generation >= self.generation
            and self.updated_replicas >= self.replicas
            and self.available_replicas >= self.replicas
            and self.ready_replicas >= self.replicas
        )


@dataclass(frozen=True)
class Observed:
    """Everything observed for one bot."""

    deployments: Mapping[str, ObservedDeployment] = field(default_factory=dict)
    pods: Mapping[str, tuple[ObservedPod, ...]] = field(default_factory=dict)
    credentials_present: bool = True

    def pods_of(self, component: str) -> tuple[ObservedPod, ...]:
        return self.pods.get(component, ())

    def running(self, component: str) -> bool:
        """Anything of the component still exists: desired replicas or pods (terminating ones included)."""
        deployment = self.deployments.get(component)
        return bool(self.pods_of(component)) or bool(deployment and deployment.replicas > 0)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def from_deployment(body: Mapping[str, Any]) -> ObservedDeployment:
    meta, spec, status = body.get("metadata", {}), body.get("spec", {}), body.get("status", {}) or {}
    template_annotations = (spec.get("template", {}).get("metadata", {}) or {}).get("annotations") or {}
    started_by = (meta.get("annotations") or {}).get(Annotations.STARTED_BY)
    conditions = status.get("conditions") or []
    return ObservedDeployment(
        component=(meta.get("labels") or {}).get(Labels.COMPONENT, ""),
        generation=_int(meta.get("generation"), 1),
        observed_generation=_int(status.get("observedGeneration")),
        replicas=_int(spec.get("replicas"), 1),
        ready_replicas=_int(status.get("readyReplicas")),
        available_replicas=_int(status.get("availableReplicas")),
        updated_replicas=_int(status.get("updatedReplicas")),
        applied_hash=(meta.get("annotations") or {}).get(Annotations.APPLIED_HASH),
        restarted_at=template_annotations.get(Annotations.RESTARTED_AT),
        progress_deadline_exceeded=any(
            c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded"
            for c in conditions
        ),
        uid=meta.get("uid", ""),
        started_by=_int(started_by) if started_by is not None else None,
    )


def from_pod(body: Mapping[str, Any]) -> ObservedPod:
    meta, status = body.get("metadata", {}), body.get("status", {}) or {}
    conditions = status.get("conditions") or []
    containers = status.get("containerStatuses") or []
    waiting = next(
        (c["state"]["waiting"].get("reason") for c in containers if (c.get("state") or {}).get("waiting")),
        None,
    )
    # The latest termination: the container's state while it is down, else its last state.
    terminated = next(
        (
            t.get("reason")
            for c in containers
            for t in ((c.get("state") or {}).get("terminated"), (c.get("lastState") or {}).get("terminated"))
            if t
        ),
        None,
    )
    running = [(c.get("state") or {}).get("running") for c in containers]
    started = [_epoch(r.get("startedAt")) for r in running if isinstance(r, Mapping)]
    annotations = meta.get("annotations") or {}
    generation = annotations.get(Annotations.CONFIG_GENERATION)
    unscheduled = next(
        (
            c.get("message") or c.get("reason")
            for c in conditions
            if c.get("type") == "PodScheduled" and c.get("status") == "False"
        ),
        None,
    )
    held = next(
        (
            f"{c['state']['waiting'].get('reason')}: {c['state']['waiting']['message']}"
            for c in containers
            if ((c.get("state") or {}).get("waiting") or {}).get("message")
        ),
        None,
    )
    return ObservedPod(
        name=meta.get("name", ""),
        component=(meta.get("labels") or {}).get(Labels.COMPONENT, ""),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        terminating=bool(meta.get("deletionTimestamp")),
        restarts=sum(_int(c.get("restartCount")) for c in containers),
        waiting_reason=waiting,
        last_terminated_reason=terminated,
        config_generation=_int(generation) if generation is not None else None,
        template_hash=(meta.get("labels") or {}).get("pod-template-hash"),
        not_ready_why=_short(unscheduled or held or annotations.get(Annotations.NOT_READY)),
        container_running=all(r is not None for r in running),
        running_since=max((t for t in started if t is not None), default=None),
    )


def _epoch(stamp: Any) -> float | None:
    """An RFC 3339 time (`2026-11-29T13:43:25Z`) as epoch seconds; None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(stamp)).timestamp() if stamp else None
    except ValueError:
        return None


def _short(text: str | None, limit: int = 200) -> str | None:
    """Messages go into the status and events: one line, bounded."""
    if not text:
        return None
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def observe(
    deployments: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    credentials_present: bool = True,
) -> Observed:
    by_component: dict[str, list[ObservedPod]] = {}
    for body in pods:
        pod = from_pod(body)
        by_component.setdefault(pod.component, []).append(pod)
    return Observed(
        deployments={d.component: d for d in map(from_deployment, deployments)},
        pods={name: tuple(sorted(found, key=lambda p: p.name)) for name, found in by_component.items()},
        credentials_present=credentials_present,
    )


def group_snapshots(
    deployments: Iterable[ObservedDeployment],
    pods: Iterable[ObservedPod],
    credentials_present: bool,
    seen_ready: dict[str, int],
) -> Observed:
    """Group snapshots by component and mark the pods seen Ready before (remembered in `seen_ready`, pod name
    -> its container restarts when last seen Ready, which is updated: pods that are gone are forgotten).
    Health counts a pod seen Ready and NotReady now as failed at once, and recovery leaves one whose container
    exited to the kubelet; both shells (the kopf reconciler and the local runner) observe through this."""
    grouped: dict[str, list[ObservedPod]] = {}
    current = list(pods)
    for name in set(seen_ready) - {p.name for p in current}:
        del seen_ready[name]
    for pod in current:
        if pod.ready:
            seen_ready[pod.name] = pod.restarts
        elif pod.name in seen_ready:
            pod = replace(pod, was_ready=True, restarted_since_ready=pod.restarts > seen_ready[pod.name])
            if pod.kubelet_restarting and not pod.not_ready_why:
                exited = f" ({pod.last_terminated_reason})" if pod.last_terminated_reason else ""
                pod = replace(pod, not_ready_why=f"its container exited{exited}; the kubelet restarts it")
        grouped.setdefault(pod.component, []).append(pod)
    return Observed(
        deployments={d.component: d for d in deployments},
        pods={name: tuple(sorted(found, key=lambda p: p.name)) for name, found in grouped.items()},
        credentials_present=credentials_present,
    )
