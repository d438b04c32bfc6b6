"""Grouping observed snapshots: both shells (kopf reconciler, local runner) observe through this."""

from __future__ import annotations

from datetime import UTC, datetime

from tradingbot_operator.planner.observed import (
    ObservedDeployment,
    ObservedPod,
    from_pod,
    group_snapshots,
)


def test_a_pod_seen_ready_and_not_ready_now_is_marked_as_having_been_ready() -> None:
    seen: dict[str, int] = {}
    deployment = ObservedDeployment("gateway", 1, 1, 1)
    first = group_snapshots(
        [deployment], [ObservedPod("gw-1", "gateway", ready=True, terminating=False)], True, seen
    )
    assert seen == {"gw-1": 0} and not first.pods_of("gateway")[0].was_ready
    later = group_snapshots(
        [deployment], [ObservedPod("gw-1", "gateway", ready=False, terminating=False)], True, seen
    )
    assert later.pods_of("gateway")[0].was_ready


def test_pods_that_are_gone_are_forgotten_and_pods_are_sorted() -> None:
    seen = {"old": 0}
    observed = group_snapshots(
        [],
        [
            ObservedPod("b", "auth", ready=False, terminating=False),
            ObservedPod("a", "auth", ready=False, terminating=True),
        ],
        False,
        seen,
    )
    assert seen == {}
    assert [p.name for p in observed.pods_of("auth")] == ["a", "b"]
    assert not observed.credentials_present


def _pod(conditions: list[dict[str, str]], waiting: dict[str, str] | None = None) -> dict[str, object]:
    containers = [{"name": "c", "restartCount": 0, "state": {"waiting": waiting}}] if waiting else []
    return {
        "metadata": {"name": "kraken-storage-0", "labels": {"app.kubernetes.io/component": "storage"}},
        "status": {"conditions": conditions, "containerStatuses": containers},
    }


def test_what_holds_a_pod_back_is_the_schedulers_or_the_runtimes_message_on_one_bounded_line() -> None:
    unscheduled = from_pod(
        _pod(
            [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/3 nodes are available: pod has unbound immediate\nPersistentVolumeClaims.",
                }
            ]
        )
    )
    assert (
        unscheduled.not_ready_why
        == "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    )
    image = from_pod(
        _pod(
            [{"type": "PodScheduled", "status": "True"}],
            {"reason": "ErrImageNeverPull", "message": "image x:1 not present " + "y" * 300},
        )
    )
    assert image.not_ready_why is not None and image.not_ready_why.startswith("ErrImageNeverPull: image x:1")
    assert len(image.not_ready_why) == 200
    assert from_pod(_pod([{"type": "Ready", "status": "True"}])).not_ready_why is None


def container_pod(restarts: int, state: dict, last: dict | None = None, ready: bool = False) -> dict:
    return {
        "metadata": {"name": "gw-1", "labels": {"app.kubernetes.io/component": "gateway"}},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"restartCount": restarts, "state": state, "lastState": last or {}}],
        },
    }


def test_a_container_that_exited_and_was_restarted_is_told_apart_from_one_that_hangs() -> None:
    deployment = ObservedDeployment("gateway", 1, 1, 1)
    seen: dict[str, int] = {}
    running = {"running": {"startedAt": "2026-11-29T13:00:00Z"}}
    group_snapshots([deployment], [from_pod(container_pod(0, running, ready=True))], True, seen)

    exited = group_snapshots(
        [deployment],
        [from_pod(container_pod(0, {"terminated": {"reason": "Error", "exitCode": 2}}))],
        True,
        seen,
    ).pods_of("gateway")[0]
    assert not exited.container_running and exited.kubelet_restarting
    assert exited.last_terminated_reason == "Error"
    assert exited.not_ready_why == "its container exited (Error); the kubelet restarts it"

    again = {"running": {"startedAt": "2026-11-29T13:05:00Z"}}
    restarted = group_snapshots(
        [deployment], [from_pod(container_pod(1, again, {"terminated": {"reason": "Error"}}))], True, seen
    ).pods_of("gateway")[0]
    assert restarted.container_running and restarted.restarted_since_ready and restarted.kubelet_restarting
    assert restarted.running_since == datetime(2026, 11, 29, 13, 5, tzinfo=UTC).timestamp()

    # Ready again with one restart: that count is the new baseline, so a later NotReady is a hang.
    group_snapshots([deployment], [from_pod(container_pod(1, again, ready=True))], True, seen)
    hung = group_snapshots([deployment], [from_pod(container_pod(1, again))], True, seen).pods_of("gateway")[
        0
    ]
    assert hung.was_ready and not hung.restarted_since_ready and not hung.kubelet_restarting
    assert hung.not_ready_why is None
