"""The storage claim's reclaim policy on the real API server: Retain leaves the claim when the bot is deleted
(a bot of the same name adopts it again), Delete lets garbage collection remove it with the bot.

The namespace's pods go to kwok nodes, which provision no volumes: the claims stay Pending, which is all
this needs (ownership and garbage collection are the API server's; binding is tested on the real node)."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException

from tests.support.bots import Bots, bot_manifest
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until

CLAIM = "keeper-storage-data"


def claim(bots: Bots) -> object | None:
    try:
        return bots.core.read_namespaced_persistent_volume_claim(CLAIM, bots.namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


@pytest.mark.parametrize("reclaim", ["Retain", "Delete"])
def test_the_claim_outlives_the_bot_only_with_retain(
    operator: OperatorProcess, bots: Bots, reclaim: str
) -> None:
    bots.create(bot_manifest("keeper", storage={"size": "1Gi", "reclaim": reclaim}))
    made = wait_until(lambda: claim(bots), timeout=60, what="the storage claim")
    owners = made.metadata.owner_references or []  # type: ignore[attr-defined]
    assert [o.kind for o in owners] == ([] if reclaim == "Retain" else ["TradingBot"])
    assert made.spec.resources.requests["storage"] == "1Gi"  # type: ignore[attr-defined]
    uid = made.metadata.uid  # type: ignore[attr-defined]

    bots.delete("keeper")
    wait_until(lambda: not bots.exists("keeper"), timeout=120, what="the bot to be deleted")
    if reclaim == "Delete":
        wait_until(lambda: claim(bots) is None, timeout=60, what="garbage collection to remove the claim")
        return
    # Retain: still there, and a new bot of the same name takes the very same claim.
    kept = claim(bots)
    assert kept is not None and kept.metadata.uid == uid  # type: ignore[attr-defined]
    bots.create(bot_manifest("keeper", storage={"size": "1Gi", "reclaim": reclaim}))
    deployment = wait_until(
        lambda: bots.deployments().get("storage"), timeout=60, what="the new bot's storage Deployment"
    )
    volumes = {v.name: v for v in deployment.spec.template.spec.volumes}
    assert volumes["data"].persistent_volume_claim.claim_name == CLAIM
    again = claim(bots)
    assert again is not None and again.metadata.uid == uid  # type: ignore[attr-defined]
