"""Grouping observed snapshots: both shells (kopf reconciler, local runner) observe through this."""

from __future__ import annotations

from tradingbot_operator.planner.observed import (
    ObservedDeployment,
    ObservedPod,
    from_pod,
    group_snapshots,
)


def test_a_pod_seen_ready_and_not_ready_now_is_marked_as_having_been_ready() -> None:
    seen: set[str] = set()
    deployment = ObservedDeployment("gateway", 1, 1, 1)
    first = group_snapshots(
        [deployment], [ObservedPod("gw-1", "gateway", ready=True, terminating=False)], True, seen
    )
    assert seen == {"gw-1"} and not first.pods_of("gateway")[0].was_ready
    later = group_snapshots(
        [deployment], [ObservedPod("gw-1", "gateway", ready=False, terminating=False)], True, seen
    )
    assert later.pods_of("gateway")[0].was_ready


def test_pods_that_are_gone_are_forgotten_and_pods_are_sorted() -> None:
    seen = {"old"}
    observed = group_snapshots(
        [],
        [
            ObservedPod("b", "auth", ready=False, terminating=False),
            ObservedPod("a", "auth", ready=False, terminating=True),
        ],
        False,
        seen,
    )
    assert seen == set()
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
