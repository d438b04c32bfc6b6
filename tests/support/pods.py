"""Fake pod failures the way a kubelet would report them, by patching the status subresource (kwok keeps it)."""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes import client


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def component_pods(core: client.CoreV1Api, namespace: str, bot: str, component: str) -> list[client.V1Pod]:
    selector = f"app.kubernetes.io/instance={bot},app.kubernetes.io/component={component}"
    pods = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in pods if not p.metadata.deletion_timestamp]


def set_ready(core: client.CoreV1Api, namespace: str, pod: str, ready: bool) -> None:
    value = "True" if ready else "False"
    conditions = [
        {"type": "Ready", "status": value, "reason": "Simulated", "lastTransitionTime": _now()},
        {"type": "ContainersReady", "status": value, "reason": "Simulated", "lastTransitionTime": _now()},
    ]
    core.patch_namespaced_pod_status(pod, namespace, {"status": {"conditions": conditions}})


def _container_status(pod: client.V1Pod, **fields: object) -> list[dict]:
    container = pod.spec.containers[0]
    return [{"name": container.name, "image": container.image, "imageID": "", "ready": False, **fields}]


def crash_loop(core: client.CoreV1Api, namespace: str, pod: client.V1Pod, restarts: int = 5) -> None:
    statuses = _container_status(
        pod,
        restartCount=restarts,
        state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting failed container"}},
        lastState={
            "terminated": {"exitCode": 1, "reason": "Error", "startedAt": _now(), "finishedAt": _now()}
        },
    )
    core.patch_namespaced_pod_status(
        pod.metadata.name, namespace, {"status": {"containerStatuses": statuses}}
    )
    set_ready(core, namespace, pod.metadata.name, False)


def exited(core: client.CoreV1Api, namespace: str, pod: client.V1Pod, reason: str = "Error") -> None:
    """Its container exited, and the kubelet has not started it again yet (the first restart is immediate, so
    this is a moment's state on a real node)."""
    statuses = _container_status(
        pod,
        restartCount=0,
        state={"terminated": {"exitCode": 1, "reason": reason, "startedAt": _now(), "finishedAt": _now()}},
    )
    core.patch_namespaced_pod_status(
        pod.metadata.name, namespace, {"status": {"containerStatuses": statuses}}
    )
    set_ready(core, namespace, pod.metadata.name, False)


def oom_killed(core: client.CoreV1Api, namespace: str, pod: client.V1Pod) -> None:
    statuses = _container_status(
        pod,
        restartCount=1,
        state={"waiting": {"reason": "ContainerCreating"}},
        lastState={
            "terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": _now(), "finishedAt": _now()}
        },
    )
    core.patch_namespaced_pod_status(
        pod.metadata.name, namespace, {"status": {"containerStatuses": statuses}}
    )
    set_ready(core, namespace, pod.metadata.name, False)
