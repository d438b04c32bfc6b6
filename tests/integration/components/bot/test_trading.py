"""The bot trades on paper: all eight components as real processes against the simulator's matching
engine. Orders are placed and filled, show up as positions and P&L, and balances agree across
balance-manager, portfolio and the simulator's own books."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from tests.integration.components.bot.harness import SYMBOL, Bot, dump, wait_for_orders
from tests.support.waiting import wait_until

D = Decimal


def tagged(orders: list[dict[str, Any]], tag: str, status: str | None = None) -> list[dict[str, Any]]:
    return [o for o in orders if o["tag"] == tag and (status is None or o["status"] == status)]


def sim_btc(bot: Bot) -> Decimal:
    return D(bot.sim_balance_ex()["XXBT"]["balance"])


def test_a_full_trade_cycle(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory()
    start_btc = D("10")  # the simulator's default balance

    orders = wait_for_orders(
        bot,
        lambda o: tagged(o, "entry", "filled") and tagged(o, "exit", "new"),
        what="entry filled, exit resting",
    )
    entry, exit_ = tagged(orders, "entry", "filled")[0], tagged(orders, "exit", "new")[0]
    bought = D(entry["filled"])
    assert D(entry["volume"]) * D(entry["price"]) <= D("100"), "the position cap (max_position_size) held"
    assert D(exit_["volume"]) == bought

    # Portfolio: the position is the fill, valued at the market.
    position = wait_until(
        lambda: next(
            (p for p in bot.positions()["positions"] if p["pair"] == SYMBOL and D(p["quantity"]) > 0), None
        ),
        timeout=15,
        what="the position in portfolio",
    )
    assert D(position["quantity"]) == bought
    assert D(position["average_price"]) == D(entry["average_price"])
    # The exit is the average plus the profit target, rounded up to the tick.
    expected_exit = (D(position["average_price"]) * D("1.005")).quantize(D("0.1"), rounding=ROUND_CEILING)
    assert D(exit_["price"]) == expected_exit

    # Balances: balance-manager agrees with the simulator, and the sell order holds the BTC it sells.
    def btc_row() -> dict[str, Any] | None:
        row = bot.balances()["balances"].get("XXBT")
        return row if row and D(row["total"]) == sim_btc(bot) and D(row["held"]) == bought else None

    row = wait_until(btc_row, timeout=15, what="balance-manager to show the bought BTC, held by the exit")
    assert D(row["total"]) == start_btc + bought
    assert D(row["available"]) == start_btc

    # The market rises through the exit price: it fills, P&L is realized.
    bot.sim.move_market("XBT/USD", str(D(exit_["price"]) + D("50")))
    orders = wait_for_orders(bot, lambda o: tagged(o, "exit", "filled"), what="the exit to fill")
    sold = tagged(orders, "exit", "filled")[0]

    def closed() -> dict[str, Any] | None:
        view = bot.positions()
        held = sum((D(p["quantity"]) for p in view["positions"] if p["pair"] == SYMBOL), D(0))
        return view if view["fills"] >= 2 and held == 0 else None

    report = wait_until(closed, timeout=15, what="portfolio to show the round trip closed")
    fills = [f for f in bot.exchange("ClosedOrders", {"trades": True})["closed"].values()]
    fees = sum(
        (D(o["fee"]) for o in fills if o.get("cl_ord_id") in (entry["cl_ord_id"], sold["cl_ord_id"])), D(0)
    )
    gross = (D(sold["average_price"]) - D(entry["average_price"])) * bought
    # profit_target is gross: with the simulator's default fees (0.40% taker in, 0.25% maker out) a 0.5%
    # target nets a small loss, which is exactly what the books must say.
    assert gross > 0
    assert D(report["realized_pnl"]) == gross - fees, dump(bot)
    assert report["fills"] >= 2
    wait_until(
        lambda: D(bot.balances()["balances"]["XXBT"]["total"]) == sim_btc(bot) == start_btc,
        timeout=15,
        what="BTC back to the start in every view",
    )
    usd = D(bot.sim_balance_ex()["ZUSD"]["balance"])
    wait_until(lambda: D(bot.balances()["balances"]["ZUSD"]["total"]) == usd, timeout=15, what="USD to agree")
    # Kraken shows USD balances at 4 decimals (the asset's precision); the exact cash moved rounds to it.
    assert usd == (D("100000") + gross - fees).quantize(D("0.0001"))


def test_a_hot_profit_target_change_prices_the_next_order(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory()
    orders = wait_for_orders(bot, lambda o: tagged(o, "exit", "new"), what="a resting exit")
    first = tagged(orders, "exit", "new")[0]
    pid = bot.trader.pid  # type: ignore[union-attr]
    bot.update_config("trading", "profit_target", 0.02)
    wait_until(
        lambda: bot.trader.get("/config").json["config"]["trading"]["profit_target"] == 0.02,
        timeout=10,
        what="the trader to apply the change",
    )  # type: ignore[union-attr]
    # Take the resting exit away; the strategy places the next one with the new target.
    bot.exchange("CancelOrder", {"cl_ord_id": first["cl_ord_id"]})
    orders = wait_for_orders(
        bot, lambda o: len(tagged(o, "exit")) >= 2 and tagged(o, "exit", "new"), what="the next exit"
    )
    second = tagged(orders, "exit", "new")[0]
    average = D(bot.trader.get("/healthz").json["trader"]["holdings"][SYMBOL]["average_price"])  # type: ignore[union-attr]
    assert D(second["price"]) == (average * D("1.02")).quantize(D("0.1"), rounding=ROUND_CEILING)
    assert D(first["price"]) == (average * D("1.005")).quantize(D("0.1"), rounding=ROUND_CEILING)
    assert bot.trader.pid == pid  # type: ignore[union-attr]


def test_sigterm_leaves_no_open_order_at_the_exchange(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory()
    wait_for_orders(bot, lambda o: tagged(o, "exit", "new"), what="a resting exit")
    assert bot.exchange("OpenOrders")["open"], "an order rests at the exchange"
    assert bot.trader.terminate(timeout=30) == 0  # type: ignore[union-attr]
    assert bot.exchange("OpenOrders")["open"] == {}
    assert "open orders left: 0" in bot.trader.log_text()  # type: ignore[union-attr]


def test_the_trader_places_nothing_while_the_gateway_circuit_is_open(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory()
    wait_for_orders(bot, lambda o: tagged(o, "exit", "new"), what="a resting exit")
    bot.exchange("CancelAll")  # the strategy now wants a new exit at once
    bot.sim.fault("unavailable", scope="private")
    wait_until(lambda: bot.stack.gateway.get("/readyz").status == 503, timeout=20, what="the circuit to open")
    wait_until(lambda: bot.trader.get("/orders").json["paused"], timeout=10, what="the trader to pause")  # type: ignore[union-attr]
    placed = bot.sim.stats()["orders"].get("placed", 0)
    attempted = bot.sim.stats()["requests"].get("AddOrder", 0)
    # A few seconds with the circuit open: not one AddOrder reaches the exchange.
    wait_until(
        lambda: bot.trader.get("/healthz").json["trader"]["decisions"] > 20,
        timeout=30,
        what="decisions while paused",
    )  # type: ignore[union-attr]
    assert bot.sim.stats()["requests"].get("AddOrder", 0) == attempted
    bot.sim.clear_faults()
    wait_until(lambda: not bot.trader.get("/orders").json["paused"], timeout=30, what="the trader to resume")  # type: ignore[union-attr]
    wait_until(
        lambda: bot.sim.stats()["orders"].get("placed", 0) > placed,
        timeout=30,
        what="orders after the circuit closed",
    )


def test_balances_and_positions_reconcile_after_the_websockets_drop(bot_factory: Callable[..., Bot]) -> None:
    bot = bot_factory()
    wait_for_orders(bot, lambda o: tagged(o, "exit", "new"), what="a resting exit")
    bot.sim.fault("drop_ws")
    # While they reconnect, the market fills the exit.
    exit_price = D(tagged(bot.orders(), "exit", "new")[0]["price"])
    bot.sim.move_market("XBT/USD", str(exit_price + D("50")))
    wait_for_orders(bot, lambda o: tagged(o, "exit", "filled"), what="the exit to fill")

    def agreed() -> bool:
        truth = bot.sim_balance_ex()
        mine = bot.balances()["balances"]
        same = all(D(mine[a]["total"]) == D(truth[a]["balance"]) for a in ("XXBT", "ZUSD"))
        quantity = next((D(p["quantity"]) for p in bot.positions()["positions"] if p["pair"] == SYMBOL), D(0))
        return same and quantity == D(truth["XXBT"]["balance"]) - D("10")

    wait_until(agreed, timeout=30, what="balances and positions to equal the simulator's")
