"""The REST side of reconciling, against a scripted gateway: a read applied to the ledger, a feed that
reconnected during the read makes it a plain adoption, a suspect is read again, failures are reported
and retried."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.waiting import async_wait_until
from tests.unit.components.balance_manager.scenario import balances_snapshot, executions, ledger
from tradingbot_components.balance_manager.ledger import ReconcileOutcome
from tradingbot_components.balance_manager.reconciler import FeedState, Reconciler
from tradingbot_components.clients.gateway import GatewayReply
from tradingbot_components.runtime.tasks import cancel_and_wait

AGREEING = {"ZUSD": {"balance": "100.0000", "hold_trade": "0.0000"}}
MOVED = {"ZUSD": {"balance": "90.0000", "hold_trade": "0.0000"}}


class ScriptedGateway:
    def __init__(self, *replies: GatewayReply, during: Any = None) -> None:
        self.replies = list(replies)
        self.calls = 0
        self.during = during  # called while a read is in flight

    async def private(self, method: str, params: Any = None, **_: Any) -> GatewayReply:
        assert method == "BalanceEx"
        self.calls += 1
        if self.during is not None:
            self.during()
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply


def ok(result: dict[str, Any]) -> GatewayReply:
    return GatewayReply("BalanceEx", 200, (), result)


def setup(gateway: ScriptedGateway, feed: list[FeedState], **options: Any):  # type: ignore[no-untyped-def]
    book = ledger()
    book.apply_balances(balances_snapshot(USD="100.0000"), 1.0)
    book.apply_executions(executions(snapshot=True), 1.0)
    outcomes: list[ReconcileOutcome] = []
    failures: list[str] = []
    reconciler = Reconciler(
        gateway,  # type: ignore[arg-type]
        book,
        interval=options.get("interval", 60.0),
        confirm_delay=0.01,
        feed_state=lambda: feed[0],
        on_outcome=outcomes.append,
        on_failure=failures.append,
        clock=lambda: 50.0,
    )
    return book, reconciler, outcomes, failures


async def test_a_read_while_the_feed_stays_synced_is_compared() -> None:
    _book, reconciler, outcomes, _ = setup(ScriptedGateway(ok(AGREEING)), [FeedState(True, 1)])
    outcome = await reconciler.reconcile_once(confirming=False)
    assert outcome is not None and outcome.compared and outcome.result == "ok"
    assert outcomes == [outcome] and reconciler.reads == 1


async def test_a_reconnect_during_the_read_makes_it_an_uncompared_adoption() -> None:
    feed = [FeedState(True, 1)]
    gateway = ScriptedGateway(ok(MOVED), during=lambda: feed.__setitem__(0, FeedState(True, 2)))
    book, reconciler, _, _ = setup(gateway, feed)
    outcome = await reconciler.reconcile_once(confirming=False)
    assert outcome is not None and not outcome.compared and outcome.result == "ok"
    assert str(book.totals["ZUSD"]) == "90.0000"


async def test_a_suspect_is_read_again_and_confirmed() -> None:
    gateway = ScriptedGateway(ok(MOVED))
    book, reconciler, outcomes, _ = setup(gateway, [FeedState(True, 1)])
    task = asyncio.create_task(reconciler.run())
    try:
        await async_wait_until(_probe(lambda: len(outcomes) == 2), timeout=5, what="the confirming read")
    finally:
        await cancel_and_wait(task)
    assert [(o.result, o.confirming) for o in outcomes] == [("suspect", False), ("drift", True)]
    assert str(book.totals["ZUSD"]) == "90.0000"


async def test_a_failed_read_is_reported_and_retried() -> None:
    refused = GatewayReply("BalanceEx", 503, ("EGateway:Circuit open",), None)
    gateway = ScriptedGateway(refused, refused, ok(AGREEING))
    _book, reconciler, outcomes, failures = setup(gateway, [FeedState(False, 0)], interval=60.0)
    task = asyncio.create_task(reconciler.run())
    try:
        await async_wait_until(_probe(lambda: outcomes), timeout=10, what="a read after two failures")
    finally:
        await cancel_and_wait(task)
    assert failures == ["BalanceEx: EGateway:Circuit open"] * 2
    assert reconciler.failures_in_a_row == 0 and reconciler.last_error is None


async def test_an_unreadable_balance_ex_is_a_failure() -> None:
    _book, reconciler, outcomes, failures = setup(
        ScriptedGateway(ok({"ZUSD": {"balance": "?"}})), [FeedState(True, 1)]
    )
    assert await reconciler.reconcile_once(confirming=False) is None
    assert outcomes == [] and failures == ["BalanceEx.ZUSD.balance: expected a decimal amount, got '?'"]


def _probe(predicate: Any) -> Any:
    async def probe() -> Any:
        return predicate()

    return probe
