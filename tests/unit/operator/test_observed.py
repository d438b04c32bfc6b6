"""Grouping observed snapshots: both shells (kopf reconciler, local runner) observe through this."""

from __future__ import annotations

from tradingbot_operator.planner.observed import ObservedDeployment, ObservedPod, group_snapshots


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
