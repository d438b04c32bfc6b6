"""Deployments as local workloads: what the Deployment controller does, done for one component's processes.

The runner applies the planner's Deployment objects here. A change of replicas or of the pod template
moves the generation (as the API server does); the pod template becomes a command line (`launch_spec`);
pods follow with the Recreate strategy (a local port has room for one process). The observed snapshots
(`ObservedDeployment`, `ObservedPod`) are built the way the reconciler builds them from the API, so the
planner cannot tell a process from a pod.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tradingbot_operator.api.constants import Annotations, Labels
from tradingbot_operator.local.processes import LaunchSpec, Pod
from tradingbot_operator.planner.config import digest
from tradingbot_operator.planner.observed import ObservedDeployment, ObservedPod

# Pod-level variables a node would set; a local child must not think it runs in a cluster.
CLUSTER_VARIABLES = (
    "POD_NAME",
    "POD_NAMESPACE",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
    "TRADINGBOT_STATE_DIR",  # the runner's, not the components'
)
_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Host:
    """What a node gives a pod, locally: files instead of volumes, 127.0.0.1 ports instead of Services."""

    config_file: Path
    credentials: Path | None
    ports: Mapping[str, int]
    logs: Path
    runtime: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    grace_period: float = 10.0


def _container(body: Mapping[str, Any]) -> Mapping[str, Any]:
    container: Mapping[str, Any] = body["spec"]["template"]["spec"]["containers"][0]
    return container


def _rewrite_builtin(args: list[str], host: Host, component: str, credentials: bool) -> list[str]:
    """The Deployment's arguments with the node's paths and ports swapped for local ones."""
    out: list[str] = []
    replaced = {"--config": str(host.config_file), "--port": str(host.ports[component])}
    if credentials and host.credentials is not None:
        replaced["--credentials"] = str(host.credentials)
    pairs = iter(args)
    for arg in pairs:
        if arg == "--configmap":
            next(pairs, None)  # no API server to watch: the file is the source
        elif arg in replaced:
            next(pairs, None)
            out += [arg, replaced[arg]]
        elif arg == "--credentials":
            next(pairs, None)
        else:
            out.append(arg)
    return [*out, "--host", "127.0.0.1", "--grace-period", f"{host.grace_period:g}"]


def _environment(container: Mapping[str, Any], host: Host) -> dict[str, str]:
    env = {k: v for k, v in host.environ.items() if k not in CLUSTER_VARIABLES}
    env.setdefault("TRADINGBOT_LOG_FORMAT", "plain")
    env["PYTHONUNBUFFERED"] = "1"
    env["TRADINGBOT_RUNTIME_DIR"] = str(host.runtime)
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = _expand(str(entry["value"]), env)
    env["TRADINGBOT_CONFIG"] = str(host.config_file)
    return env


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` references in args and env values."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def launch_spec(body: Mapping[str, Any], host: Host) -> LaunchSpec:
    """The command line of a Deployment's pod: built-in components run `python -m tradingbot_components`
    with their arguments made local; a custom component runs its `args` as the command."""
    component = body["metadata"]["labels"][Labels.COMPONENT]
    container = _container(body)
    env = _environment(container, host)
    args = [str(a) for a in container.get("args") or []]
    volumes = body["spec"]["template"]["spec"].get("volumes") or []
    credentials = any(v.get("name") == "credentials" for v in volumes)
    if container.get("command") == ["tradingbot-component"]:
        argv = [
            sys.executable,
            "-m",
            "tradingbot_components",
            *_rewrite_builtin(args, host, component, credentials),
        ]
    else:
        argv = [_expand(a, env) for a in args]
        env["PORT"] = str(host.ports[component])
    return LaunchSpec(
        argv=tuple(argv),
        env=env,
        port=host.ports[component],
        template_hash=digest(body["spec"]["template"])[:10],
        log_file=host.logs / f"{component}.log",
        grace_period=host.grace_period + 5.0,
        cwd=host.runtime,
    )


@dataclass
class Workload:
    """One component's Deployment as applied, and its pods (at most one running, plus any stopping)."""

    component: str
    body: dict[str, Any]
    generation: int = 1
    pods: list[Pod] = field(default_factory=list)
    rollout_since: datetime | None = None
    deadline_exceeded: bool = False
    rolled_out: bool = False

    @property
    def replicas(self) -> int:
        return int(self.body["spec"]["replicas"])

    @property
    def template_hash(self) -> str:
        return digest(self.body["spec"]["template"])[:10]

    @property
    def progress_deadline(self) -> int:
        return int(self.body["spec"].get("progressDeadlineSeconds") or 600)

    def live_pods(self) -> list[Pod]:
        return [p for p in self.pods if not p.gone]

    def current(self) -> list[Pod]:
        return [p for p in self.pods if not p.terminating and not p.gone]

    def apply(self, body: dict[str, Any], now: datetime) -> bool:
        """Take a new desired object; True when its spec changed (a new generation)."""
        changed = bool(body["spec"] != self.body["spec"])
        self.body = body
        if changed:
            self.generation += 1
            self.rolled_out, self.deadline_exceeded = False, False
            self.rollout_since = now if self.replicas > 0 else None
        return changed

    def ready_count(self) -> int:
        return sum(1 for p in self.current() if p.ready and p.spec.template_hash == self.template_hash)

    def updated_count(self) -> int:
        return sum(1 for p in self.current() if p.spec.template_hash == self.template_hash)

    def track_progress(self, now: datetime) -> None:
        """The Progressing condition: a rollout that is not available within its deadline has failed."""
        if self.replicas == 0 or self.ready_count() >= self.replicas:
            self.rolled_out, self.rollout_since = True, None
            return
        if self.rolled_out:
            return
        if self.rollout_since is None:
            self.rollout_since = now
        if (now - self.rollout_since).total_seconds() > self.progress_deadline:
            self.deadline_exceeded = True

    def observe(self) -> ObservedDeployment:
        meta = self.body["metadata"]
        annotations = meta.get("annotations") or {}
        template = (self.body["spec"]["template"]["metadata"] or {}).get("annotations") or {}
        started_by = annotations.get(Annotations.STARTED_BY)
        ready = self.ready_count()
        return ObservedDeployment(
            component=self.component,
            generation=self.generation,
            observed_generation=self.generation,
            replicas=self.replicas,
            ready_replicas=ready,
            available_replicas=ready,
            updated_replicas=self.updated_count(),
            applied_hash=annotations.get(Annotations.APPLIED_HASH),
            restarted_at=template.get(Annotations.RESTARTED_AT),
            progress_deadline_exceeded=self.deadline_exceeded,
            started_by=int(started_by) if started_by is not None else None,
        )


def observe_pod(pod: Pod) -> ObservedPod:
    return ObservedPod(
        name=pod.name,
        component=pod.component,
        ready=pod.ready,
        terminating=pod.terminating,
        restarts=pod.restarts,
        waiting_reason=pod.waiting_reason,
        last_terminated_reason=pod.last_terminated_reason,
        not_ready_why=pod.not_ready_why,
        config_generation=pod.config_generation,
        template_hash=pod.spec.template_hash,
        container_running=pod.pid is not None,
        running_since=pod.started_at if pod.pid is not None else None,
    )


_serial = itertools.count(1)


def pod_name(bot: str, component: str, template_hash: str) -> str:
    return f"{bot}-{component}-{template_hash[:8]}-{next(_serial)}"
