"""`kill -9` of the trader between sending AddOrder and reading the answer, then a restart: the order exists
at most once, and the restarted trader knows it by its `cl_ord_id` before it decides anything new."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.components.bot.harness import Bot
from tests.integration.components.process import request
from tests.support.waiting import wait_until


def pending_in_storage(bot: Bot) -> list[dict[str, Any]]:
    reply = request(bot.stack.storage.url("/v1/orders?status=pending"))
    return list(reply.json["orders"])


def with_cl_ord_id(bot: Bot, cl_ord_id: str) -> list[str]:
    return [txid for txid, order in bot.sim_orders().items() if order.get("cl_ord_id") == cl_ord_id]


@pytest.mark.parametrize(
    ("delay", "reaches_exchange"),
    [(2.0, True), (8.0, False)],  # the order deadline is 5 s: a later arrival is refused by the exchange
    ids=["arrives-before-its-deadline", "arrives-after-its-deadline"],
)
def test_kill_9_mid_addorder_then_restart_never_duplicates(
    bot_factory: Callable[..., Bot], delay: float, reaches_exchange: bool
) -> None:
    bot = bot_factory(start_trader=False)
    # Every private REST answer is held back `delay` seconds before the exchange acts on the request.
    bot.sim.fault("latency", seconds=delay, scope="private", duration=60)
    trader = bot.start_trader(wait=False)
    order = wait_until(
        lambda: (pending_in_storage(bot) or [None])[0], timeout=90, what="an order recorded as pending"
    )
    cl_ord_id = order["client_order_id"]
    trader.kill()  # SIGKILL while its AddOrder is in flight

    bot.sim.clear_faults()
    restarted = bot.start_trader(wait=True)
    wait_until(lambda: not pending_in_storage(bot), timeout=30, what="the pending order to be settled")
    settled = request(bot.stack.storage.url(f"/v1/orders/{cl_ord_id}")).json
    found = with_cl_ord_id(bot, cl_ord_id)
    if reaches_exchange:
        assert len(found) == 1, found
        assert settled["exchange_order_id"] == found[0]
        assert settled["status"] in ("new", "partially_filled", "filled")
    else:
        assert found == []
        assert settled["status"] == "rejected"
    # The restarted trader keeps trading without ever reusing that id.
    wait_until(
        lambda: restarted.get("/orders").json["orders"], timeout=30, what="the restarted trader's orders"
    )
    assert len(with_cl_ord_id(bot, cl_ord_id)) == len(found)
    ids = [o.get("cl_ord_id") for o in bot.sim_orders().values() if o.get("cl_ord_id")]
    assert len(ids) == len(set(ids)), "a client order id was used twice"
