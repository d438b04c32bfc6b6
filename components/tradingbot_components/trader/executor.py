"""Placing and cancelling the trader's orders through the gateway so that no order is ever sent twice.

Every order is written to storage as `pending` with its `cl_ord_id` *before* it is sent, and carries a
Kraken `deadline`: the exchange refuses it if it arrives later. So when the outcome of a send is unknown
(the gateway stopped answering, the process was killed mid-call), waiting until the deadline has passed and
then looking the id up in open and closed orders settles it for good: found, it is recorded; not found, it
never traded and never will. The same lookup runs at start for every order storage still calls unfinished.

A cancel is sent once per `cancel_retry` seconds per order: a strategy asks again on every quote until the
`executions` feed reports the order closed, and each CancelOrder costs rate-limit points (more for a young
order), so the asks in between are answered from the one already on its way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.clients.gateway import GatewayClient, GatewayReply
from tradingbot_components.clients.storage import StorageClient
from tradingbot_components.storage.models import Order, OrderStatus, OrderType
from tradingbot_components.strategy.api import OrderView
from tradingbot_components.trader.ledger import STATUS_OF_REST, OrderLedger
from tradingbot_components.trader.risk import Approved
from tradingbot_components.trading.rules import PairRules

log = logging.getLogger(__name__)

ExchangeState = tuple[str, OrderStatus, Decimal, Decimal | None]  # txid, status, filled, average price
DEADLINE_MARGIN = 1.0  # seconds past a deadline before a lookup counts as final (clock skew, transit)


def new_client_order_id() -> str:
    """A UUID without dashes: Kraken's `cl_ord_id` accepts it, and it is unique without coordination."""
    return uuid.uuid4().hex


def rfc3339(timestamp: float) -> str:
    return (
        dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class SendOutcome:
    PLACED = "placed"
    REJECTED = "rejected"  # a definite refusal: nothing traded
    NOT_SENT = "not_sent"  # refused before sending (storage, gateway circuit): nothing traded
    UNKNOWN = "unknown"  # may have traded: settled by a lookup after the deadline


@dataclass(frozen=True, slots=True)
class Placement:
    outcome: str
    order: OrderView | None
    waited: float = 0.0  # seconds the gateway held the AddOrder for rate capacity
    answered_at: float = 0.0  # when the gateway's answer arrived


class OrderExecutor:
    def __init__(
        self,
        gateway: GatewayClient,
        storage: StorageClient,
        ledger: OrderLedger,
        *,
        deadline: float,
        on_change: Callable[[OrderView], None],
        cancel_retry: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway
        self.storage = storage
        self.ledger = ledger
        self.deadline = deadline
        self.cancel_retry = cancel_retry
        self._cancel_sent: dict[str, float] = {}  # cl_ord_id -> when its latest CancelOrder went out
        self.cancels_sent = 0
        self.cancels_held = 0  # asked for again within `cancel_retry` of the last one: not sent
        self._on_change = on_change
        self._clock = clock
        self._settling: dict[str, asyncio.Task[None]] = {}
        self._persisting: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.rejections: dict[str, int] = {}

    # -- placing -----------------------------------------------------------------------------------

    async def place(
        self, order: Approved, rules: PairRules, tag: str, *, post_only: bool = False
    ) -> Placement:
        """Record, then send; the outcome and the order as now known."""
        cl_ord_id = new_client_order_id()
        now = self._clock()
        record = Order(cl_ord_id, order.pair, order.side, OrderType.LIMIT, order.volume, order.price)
        try:
            await self.storage.add_order(record)
        except (ServiceUnavailable, ServiceRejected) as exc:
            log.error("order not sent: it could not be recorded first: %s", exc)
            return Placement(SendOutcome.NOT_SENT, None)
        view = self.ledger.put(
            OrderView(
                cl_ord_id,
                order.pair,
                order.side,
                order.volume,
                order.price,
                OrderStatus.PENDING,
                Decimal(0),
                None,
                tag,
                now,
            )
        )
        params: dict[str, Any] = {
            "pair": rules.altname,
            "type": str(order.side),
            "ordertype": "limit",
            "price": str(order.price),
            "volume": str(order.volume),
            "cl_ord_id": cl_ord_id,
            "deadline": rfc3339(now + self.deadline),
        }
        if post_only:
            params["oflags"] = "post"
        self.sent += 1
        reply = await self.gateway.private("AddOrder", params, pair=rules.altname)
        answered_at = self._clock()
        outcome = await self._answered(view, reply, now)
        return Placement(outcome, self.ledger.get(cl_ord_id), reply.waited, answered_at)

    async def _answered(self, view: OrderView, reply: GatewayReply, sent_at: float) -> str:
        cl_ord_id = view.cl_ord_id
        if reply.ok:
            txids = (reply.result or {}).get("txid") or []
            txid = str(txids[0]) if txids else None
            # The order is safe in storage as pending already: its new status is written in the background.
            await self._record(cl_ord_id, OrderStatus.NEW, txid, background=True)
            log.info(
                "order %s placed: %s",
                cl_ord_id,
                (reply.result or {}).get("descr", {}).get("order"),
                extra={"cl_ord_id": cl_ord_id, "txid": txid},
            )
            return SendOutcome.PLACED
        if reply.not_sent or not reply.uncertain:
            reason = reply.describe()
            key = reply.errors[0] if reply.errors else "gateway unreachable"
            self.rejections[key] = self.rejections.get(key, 0) + 1
            await self._record(cl_ord_id, OrderStatus.REJECTED, None, background=True)
            log.warning("order %s refused: %s", cl_ord_id, reason, extra={"cl_ord_id": cl_ord_id})
            return SendOutcome.NOT_SENT if reply.not_sent else SendOutcome.REJECTED
        log.warning(
            "order %s: outcome unknown (%s); settling it after its deadline",
            cl_ord_id,
            reply.describe(),
            extra={"cl_ord_id": cl_ord_id},
        )
        self._settle_later(view, sent_at)
        return SendOutcome.UNKNOWN

    async def _record(
        self,
        cl_ord_id: str,
        status: OrderStatus,
        txid: str | None,
        *,
        filled: Decimal | None = None,
        average_price: Decimal | None = None,
        background: bool = False,
    ) -> None:
        changed = self.ledger.update(
            cl_ord_id, status, exchange_order_id=txid, filled=filled, average_price=average_price
        )
        current = self.ledger.get(cl_ord_id)
        if current is not None and background:
            task = asyncio.get_running_loop().create_task(self.persist(current))
            self._persisting.add(task)
            task.add_done_callback(self._persisting.discard)
        elif current is not None:
            await self.persist(current)
        if changed is not None:
            self._on_change(changed)

    async def persist(self, order: OrderView) -> None:
        """Write the order's status to storage; a finished order storage already has stays as it is."""
        try:
            await self.storage.update_order(order.cl_ord_id, order.status, order.exchange_order_id)
        except ServiceRejected as exc:
            if exc.status != 409:
                log.error("storage refused the status of %s: %s", order.cl_ord_id, exc)
        except ServiceUnavailable as exc:
            log.error("status of %s not stored (storage unavailable): %s", order.cl_ord_id, exc)

    # -- settling unknown outcomes -----------------------------------------------------------------

    def _settle_later(self, view: OrderView, sent_at: float) -> None:
        if view.cl_ord_id not in self._settling:
            self._settling[view.cl_ord_id] = asyncio.create_task(
                self._settle(view.cl_ord_id, sent_at + self.deadline), name=f"settle-{view.cl_ord_id}"
            )

    async def _settle(self, cl_ord_id: str, deadline: float) -> None:
        try:
            await asyncio.sleep(max(0.0, deadline + DEADLINE_MARGIN - self._clock()))
            while True:
                complete, found = await self.lookup(cl_ord_id)
                if found is not None:
                    txid, status, filled, average = found
                    await self._record(cl_ord_id, status, txid, filled=filled, average_price=average)
                    return
                if complete:
                    await self._record(cl_ord_id, OrderStatus.REJECTED, None)
                    log.info("order %s never reached the exchange before its deadline", cl_ord_id)
                    return
                await asyncio.sleep(2.0)  # the lookup itself failed: try again
        finally:
            self._settling.pop(cl_ord_id, None)

    async def lookup(self, cl_ord_id: str) -> tuple[bool, ExchangeState | None]:
        """`(complete, state)`: the order with that client id in open, then closed orders. `complete` is
        False when a lookup failed, so a missing state means "could not ask", not "not there"."""
        for method in ("OpenOrders", "ClosedOrders"):
            reply = await self.gateway.private(method, {"cl_ord_id": cl_ord_id})
            if not reply.ok:
                log.warning("looking up %s: %s", cl_ord_id, reply.describe())
                return False, None
            section = (reply.result or {}).get("open" if method == "OpenOrders" else "closed") or {}
            for txid, entry in section.items():
                if isinstance(entry, Mapping) and entry.get("cl_ord_id") == cl_ord_id:
                    return True, _state(str(txid), entry)
        return True, None

    async def refresh(self, cl_ord_id: str) -> None:
        """Record what the exchange says of one of our orders now (after a gap in the executions feed)."""
        complete, found = await self.lookup(cl_ord_id)
        if found is not None:
            txid, status, filled, average = found
            await self._record(cl_ord_id, status, txid, filled=filled, average_price=average)
            log.info(
                "order %s refreshed after a feed gap: %s", cl_ord_id, status, extra={"cl_ord_id": cl_ord_id}
            )
        elif complete:
            log.warning("order %s is not at the exchange any more", cl_ord_id, extra={"cl_ord_id": cl_ord_id})

    async def settle_unfinished(self, orders: list[Order], now: float) -> None:
        """At start: every order storage still calls unfinished is looked up (after its deadline when it may
        still be in flight) and recorded as the exchange has it."""
        for order in orders:
            view = self.ledger.get(order.client_order_id) or self.ledger.put(
                OrderView(
                    order.client_order_id,
                    order.pair,
                    order.side,
                    order.volume,
                    order.price or Decimal(0),
                    order.status,
                    Decimal(0),
                    None,
                    "",
                    order.created_at.timestamp(),
                    order.exchange_order_id,
                )
            )
            deadline = order.created_at.timestamp() + self.deadline
            if order.status is OrderStatus.PENDING and now < deadline + DEADLINE_MARGIN:
                await asyncio.sleep(deadline + DEADLINE_MARGIN - now)
            complete, found = await self.lookup(order.client_order_id)
            if found is not None:
                txid, status, filled, average = found
                await self._record(view.cl_ord_id, status, txid, filled=filled, average_price=average)
            elif complete:
                status = OrderStatus.REJECTED if order.status is OrderStatus.PENDING else OrderStatus.EXPIRED
                await self._record(view.cl_ord_id, status, None)
            else:
                raise ServiceUnavailable(f"cannot look up order {order.client_order_id} at the exchange")
            log.info(
                "reconciled order %s: %s",
                order.client_order_id,
                self.ledger.get(order.client_order_id),
                extra={"cl_ord_id": order.client_order_id},
            )

    # -- cancelling --------------------------------------------------------------------------------

    async def cancel(
        self, order: OrderView, rules: PairRules | None, reason: str, *, resend: bool = False
    ) -> bool:
        """Ask for the cancellation; the `executions` feed reports the result. False when it failed.

        Within `cancel_retry` of a CancelOrder that may have reached the exchange, nothing is sent and the
        answer is True (that one's result is on its way), unless `resend` (the trader is stopping)."""
        now = self._clock()
        self._cancel_sent = {
            key: sent for key, sent in self._cancel_sent.items() if now - sent < self.cancel_retry
        }
        if not resend and order.cl_ord_id in self._cancel_sent:
            self.cancels_held += 1
            return True
        self._cancel_sent[order.cl_ord_id] = now
        self.cancels_sent += 1
        reply = await self.gateway.private(
            "CancelOrder",
            {"cl_ord_id": order.cl_ord_id},
            pair=rules.altname if rules else None,
            order_age=now - order.created_at,
        )
        if reply.not_sent:  # refused before it left (gateway circuit, queue full): nothing to wait for
            self._cancel_sent.pop(order.cl_ord_id, None)
        if reply.ok:
            log.info(
                "cancel requested for %s (%s)", order.cl_ord_id, reason, extra={"cl_ord_id": order.cl_ord_id}
            )
            return True
        if any("Unknown order" in e for e in reply.errors):
            _complete, found = await self.lookup(order.cl_ord_id)
            if found is not None:
                txid, status, filled, average = found
                await self._record(order.cl_ord_id, status, txid, filled=filled, average_price=average)
            return True
        log.warning(
            "cancel of %s failed: %s", order.cl_ord_id, reply.describe(), extra={"cl_ord_id": order.cl_ord_id}
        )
        return False

    async def stop(self) -> None:
        for task in list(self._settling.values()):
            task.cancel()
        await asyncio.gather(*self._settling.values(), return_exceptions=True)
        # Statuses still being written: let them land (storage is up until after the trader stops).
        if self._persisting:
            await asyncio.wait(self._persisting, timeout=5.0)


def _state(txid: str, entry: Mapping[str, Any]) -> ExchangeState:
    status = STATUS_OF_REST.get(str(entry.get("status")), OrderStatus.NEW)
    filled = Decimal(str(entry.get("vol_exec") or "0"))
    price = Decimal(str(entry.get("price") or "0"))
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    if status is OrderStatus.CANCELED and filled > 0 and filled >= Decimal(str(entry.get("vol") or "0")):
        status = OrderStatus.FILLED
    return txid, status, filled, (price if filled > 0 else None)
