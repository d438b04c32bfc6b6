"""A user strategy chosen by import path runs in a real trader process; a bad path stops it at start."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tests.integration.components.bot.harness import Bot, wait_for_orders


def test_a_strategy_loaded_by_import_path_trades(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory(
        trader_args=("--strategy", "examples.strategies.dip_buyer:DipBuyer", "--strategy-param", "dip=0.0005")
    )
    assert bot.trader.get("/healthz").json["trader"]["strategy"]["name"] == "dip-buyer"  # type: ignore[union-attr]
    fair = Decimal(bot.sim.market()["XBT/USD"]["fair"])
    bot.sim.move_market("XBT/USD", str((fair * Decimal("0.99")).quantize(Decimal("0.1"))))  # a 1% dip
    orders = wait_for_orders(bot, lambda o: any(x["tag"] == "dip" for x in o), what="the dip buyer's order")
    assert all(o["cl_ord_id"] for o in orders)


def test_a_bad_strategy_path_stops_the_trader_with_the_reason(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory(start_trader=False)
    trader = bot.start_trader("--strategy", "examples.strategies.dip_buyer:Nope", wait=False)
    assert trader.wait_exit(timeout=30) == 2
    assert "has no 'Nope'" in trader.log_text()
