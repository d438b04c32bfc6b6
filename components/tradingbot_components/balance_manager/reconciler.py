"""The REST side: `BalanceEx` through the gateway at start, whenever asked (after every WS (re)sync), and
every `reconcile_interval`; a mismatch is read again after `confirm_delay` before it counts as drift. A
failed read is retried with backoff (capped below the interval) and never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tradingbot_components.balance_manager.ledger import (
    BadBalances,
    BalanceLedger,
    ReconcileOutcome,
    parse_balance_ex,
)
from tradingbot_components.clients.gateway import GatewayClient
from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.invocation import describe_error

log = logging.getLogger(__name__)

RETRY_BASE = 0.5
RETRY_CAP = 10.0


@dataclass(frozen=True, slots=True)
class FeedState:
    synced: bool
    connects: int  # a different number after a read means the feed reconnected during it


class Reconciler:
    def __init__(
        self,
        gateway: GatewayClient,
        ledger: BalanceLedger,
        *,
        interval: float,
        confirm_delay: float,
        feed_state: Callable[[], FeedState],
        on_outcome: Callable[[ReconcileOutcome], None],
        on_failure: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._gateway = gateway
        self._ledger = ledger
        self.interval = interval
        self.confirm_delay = confirm_delay
        self._feed_state = feed_state
        self._on_outcome = on_outcome
        self._on_failure = on_failure
        self._clock = clock
        self._asked = asyncio.Event()
        self.failures_in_a_row = 0
        self.last_error: str | None = None
        self.last_outcome: ReconcileOutcome | None = None
        self.reads = 0

    def trigger(self) -> None:
        """Reconcile as soon as possible (the feed just (re)synced)."""
        self._asked.set()

    async def run(self) -> None:
        while True:
            self._asked.clear()
            outcome = await self._guarded(confirming=False)
            if outcome is not None and outcome.suspect:
                await asyncio.sleep(self.confirm_delay)
                self._asked.clear()  # this second read serves a request made meanwhile too
                await self._guarded(confirming=True)
            if self.failures_in_a_row:
                delay = backoff_delay(
                    self.failures_in_a_row, base=RETRY_BASE, cap=min(RETRY_CAP, self.interval)
                )
            else:
                delay = self.interval
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._asked.wait()

    async def _guarded(self, *, confirming: bool) -> ReconcileOutcome | None:
        try:
            return await self.reconcile_once(confirming=confirming)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not end the reconciles: the balances would go stale unseen
            log.exception("balance reconcile crashed")
            return self._failed(describe_error(exc))

    async def reconcile_once(self, *, confirming: bool) -> ReconcileOutcome | None:
        """One BalanceEx read applied to the ledger; None when it failed (reported to `on_failure`)."""
        before = self._feed_state()
        since = self._ledger.mark()
        self.reads += 1
        reply = await self._gateway.private("BalanceEx")
        if not reply.ok:
            return self._failed(reply.describe())
        try:
            exchange = parse_balance_ex(reply.result)
        except BadBalances as exc:
            return self._failed(str(exc))
        after = self._feed_state()
        live = before.synced and after.synced and before.connects == after.connects
        outcome = self._ledger.reconcile(
            exchange, since=since, live=live, confirming=confirming, now=self._clock()
        )
        self.failures_in_a_row = 0
        self.last_error = None
        self.last_outcome = outcome
        self._on_outcome(outcome)
        return outcome

    def _failed(self, error: str) -> None:
        self.failures_in_a_row += 1
        self.last_error = error
        log.warning(
            "balance reconcile failed (%d in a row): %s",
            self.failures_in_a_row,
            error,
            extra={"failures_in_a_row": self.failures_in_a_row},
        )
        self._on_failure(error)
        return None
