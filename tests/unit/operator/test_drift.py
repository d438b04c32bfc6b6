"""Re-applying an object that already holds what the operator wants is skipped: a read instead of a write."""

from __future__ import annotations

import copy
from typing import Any

from tradingbot_operator.api.types import ExchangeMode
from tradingbot_operator.planner import desired
from tradingbot_operator.planner.bot import Plan
from tradingbot_operator.planner.observed import Observed
from tradingbot_operator.reconciler import reconcile
from tradingbot_operator.reconciler.context import OperatorContext
from tradingbot_operator.reconciler.drift import covers

BOT = desired.BotIdentity("kraken", "bots", ExchangeMode.PAPER, "kraken-paper-credentials", "uid-1")
WANTED = desired.config_map(BOT, {"trading": {"pairs": ["XBT/USD"]}}, 1)


def test_a_live_object_covers_what_was_applied_even_with_fields_the_server_added() -> None:
    live = copy.deepcopy(WANTED)
    live["metadata"] |= {"uid": "u", "resourceVersion": "7", "managedFields": [{"manager": "x"}]}
    live["metadata"]["labels"]["someone-else"] = "added"
    assert covers(live, WANTED)


def test_any_difference_in_what_the_operator_owns_is_drift() -> None:
    changed = copy.deepcopy(WANTED)
    changed["data"]["config.json"] += " "
    assert not covers(changed, WANTED)
    missing = copy.deepcopy(WANTED)
    del missing["metadata"]["ownerReferences"]
    assert not covers(missing, WANTED)
    assert not covers({"replicas": [1, 2]}, {"replicas": [1]})
    assert not covers({"enabled": 1}, {"enabled": True})


class FakeKube:
    def __init__(self, live: dict[str, Any] | None) -> None:
        self.live, self.applied = live, []

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.live

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(obj)
        return obj


async def _writes(live: dict[str, Any] | None) -> tuple[int, FakeKube, OperatorContext]:
    kube = FakeKube(live)
    ctx = OperatorContext(kube=kube, image="img")  # type: ignore[arg-type]
    writes = await reconcile._apply(
        ctx, ("bots", "kraken"), Plan(objects=[WANTED]), Observed(), False, reread=True
    )
    return writes, kube, ctx


async def test_after_a_restart_an_unchanged_object_is_read_not_written() -> None:
    writes, kube, ctx = await _writes(copy.deepcopy(WANTED))
    assert writes == 0 and kube.applied == []
    assert ctx.applied[("ConfigMap", "bots", "kraken-config")]  # and not read again next time


async def test_a_missing_or_drifted_object_is_applied() -> None:
    for live in (None, {**copy.deepcopy(WANTED), "data": {"config.json": "{}"}}):
        writes, kube, _ = await _writes(live)
        assert writes == 1 and kube.applied == [WANTED]
