"""portfolio against the exchange simulator, every component a real process on 127.0.0.1: fills become
positions at their fill prices, sells realize P&L exactly, valuation follows the market, and neither a
`kill -9` nor a dropped WebSocket nor a storage outage loses or doubles a fill."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.components.portfolio.harness import PAIR, SYMBOL, PortfolioBot, dump
from tests.support.waiting import wait_until

D = Decimal


def trades(*orders: dict[str, Any]) -> set[str]:
    """The exchange's ids of the orders' fills (Kraken's trade ids, the WS v2 `exec_id`s)."""
    return {trade for order in orders for trade in order["trades"]}


def assert_average(position: dict[str, Any], cost: Decimal, fills: int) -> None:
    """The average is the volume-weighted fill price: cost / quantity, exact up to Decimal's 28 digits
    (averaging three or more fills may divide by a quantity like 0.003 on the way)."""
    quantity, average = D(position["quantity"]), D(position["average_price"])
    if fills <= 2:
        assert average * quantity == cost, position
    else:
        assert abs(average * quantity - cost) < D("1e-18"), position


def test_a_filled_buy_is_a_position_at_its_fill_price(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    before = bot.positions()
    assert before["fills"] == 0 and before["realized_pnl"] == "0"
    assert [p["pair"] for p in before["positions"]] == [
        SYMBOL
    ]  # configured XBT/USD, shown as WS v2 spells it

    buy = bot.trade("buy")
    view = bot.wait_fills(len(buy["trades"]))
    position = next(p for p in view["positions"] if p["pair"] == SYMBOL)

    assert D(position["quantity"]) == D(buy["vol_exec"]) == D("0.01")
    assert_average(position, buy["exact_cost"], len(buy["trades"]))
    if len(buy["trades"]) == 1:
        assert D(position["average_price"]) == D(buy["price"])
    # The fee (quote currency) is the only P&L realized so far.
    assert D(position["realized_pnl"]) == D(view["realized_pnl"]) == -D(buy["fee"])
    # Every amount is a decimal string.
    for key in ("quantity", "average_price", "realized_pnl"):
        assert isinstance(position[key], str)
    # Stored first: storage holds exactly the exchange's fills, by their ids.
    stored = bot.stored_fills()
    assert {f["fill_id"] for f in stored} == trades(buy)
    assert {f["pair"] for f in stored} == {SYMBOL} and {f["side"] for f in stored} == {"buy"}
    assert sum((D(f["fee"]) for f in stored), D(0)) == D(buy["fee"])
    assert bot.metric('tradingbot_portfolio_fills_applied_total{source="exchange"}') == len(buy["trades"])
    status = bot.status()
    assert status["fills"] == len(buy["trades"]) and status["last_fill_at"] is not None
    assert status["executions_feed"]["synced"] is True


def test_a_sell_realizes_pnl_exactly(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    buy = bot.trade("buy")
    bot.wait_fills(len(buy["trades"]))
    sell = bot.trade("sell")
    view = bot.wait_fills(len(buy["trades"]) + len(sell["trades"]))
    position = next(p for p in view["positions"] if p["pair"] == SYMBOL)

    assert D(position["quantity"]) == 0 and D(position["average_price"]) == 0
    expected = sell["exact_cost"] - buy["exact_cost"] - D(buy["fee"]) - D(sell["fee"])
    realized = D(view["realized_pnl"])
    if len(buy["trades"]) <= 2:
        assert realized == expected, dump(bot)
    else:
        assert abs(realized - expected) < D("1e-18"), dump(bot)
    assert D(position["realized_pnl"]) == realized
    assert D(position["unrealized_pnl"]) == 0 and D(position["exposure"]) == 0


def test_market_price_follows_the_market(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    buy = bot.trade("buy")
    bot.wait_fills(len(buy["trades"]))
    fair = D(bot.sim.market()[PAIR]["fair"])

    def valued(low: Decimal, high: Decimal) -> dict[str, Any] | None:
        position = bot.position()
        price = position["market_price"]
        return position if price is not None and low <= D(price) <= high else None

    for target, sign in ((fair * D("1.05"), 1), (fair * D("0.95"), -1)):
        bot.sim.move_market(PAIR, str(target.quantize(D("0.1"))))
        position = wait_until(
            lambda t=target: valued(t * D("0.99"), t * D("1.01")),
            timeout=15,
            what=f"the market price to follow the market to {target}",
        )
        price, quantity = D(position["market_price"]), D(position["quantity"])
        assert D(position["unrealized_pnl"]) == (price - D(position["average_price"])) * quantity
        assert D(position["exposure"]) == quantity * price
        assert (D(position["unrealized_pnl"]) > 0) is (sign > 0)


def test_kill_9_then_restart_rebuilds_the_same_positions_and_catches_up(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    buy = bot.trade("buy")
    bot.wait_fills(len(buy["trades"]))
    sell = bot.trade("sell", "0.004")
    count = len(buy["trades"]) + len(sell["trades"])
    before = bot.wait_fills(count)

    bot.portfolio.kill()  # SIGKILL: no shutdown code runs
    missed = bot.trade("buy", "0.002")  # fills while portfolio is down
    bot.start_portfolio()
    total = count + len(missed["trades"])
    after = bot.wait_fills(total)

    # Rebuilt from storage, then the exchange's snapshot replayed the recent fills: the ones storage had
    # were ignored, the one that happened while portfolio was down was stored and applied once.
    status = bot.status()
    assert status["rebuilt_from_fills"] == count
    assert status["recorder"]["applied"] == len(missed["trades"])
    assert status["recorder"]["duplicates_ignored"] == count, dump(bot)
    assert {f["fill_id"] for f in bot.stored_fills()} == trades(buy, sell, missed)

    old = next(p for p in before["positions"] if p["pair"] == SYMBOL)
    new = next(p for p in after["positions"] if p["pair"] == SYMBOL)
    assert D(new["quantity"]) == D(old["quantity"]) + D("0.002") == D("0.008")
    assert D(after["realized_pnl"]) == D(before["realized_pnl"]) - D(missed["fee"])
    cost = D(old["average_price"]) * D(old["quantity"]) + missed["exact_cost"]
    assert abs(D(new["average_price"]) * D(new["quantity"]) - cost) < D("1e-18")

    # A second restart, with nothing new: exactly the same positions.
    bot.portfolio.kill()
    bot.start_portfolio()
    again = bot.wait_fills(total)
    strip = ("market_price", "unrealized_pnl", "exposure")
    assert [{k: v for k, v in p.items() if k not in strip} for p in again["positions"]] == [
        {k: v for k, v in p.items() if k not in strip} for p in after["positions"]
    ]
    assert again["realized_pnl"] == after["realized_pnl"]

    assert bot.portfolio.terminate() == 0  # SIGTERM: a clean stop


def test_a_dropped_websocket_loses_and_doubles_no_fill(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    buy = bot.trade("buy")
    bot.wait_fills(len(buy["trades"]))
    assert bot.status()["executions_feed"]["connects"] == 1

    bot.sim.fault("drop_ws")
    sell = bot.trade("sell", "0.004")  # while portfolio reconnects, or just after
    total = len(buy["trades"]) + len(sell["trades"])

    def caught_up() -> dict[str, Any] | None:
        status = bot.status()
        feed = status["executions_feed"]
        return status if feed["connects"] >= 2 and feed["synced"] and status["fills"] == total else None

    status = wait_until(caught_up, timeout=30, what="portfolio to reconnect and catch up")
    view = bot.wait_fills(total)
    assert status["recorder"]["duplicates_ignored"] >= len(buy["trades"])  # the snapshot replayed them
    assert {f["fill_id"] for f in bot.stored_fills()} == trades(buy, sell)
    position = next(p for p in view["positions"] if p["pair"] == SYMBOL)
    assert D(position["quantity"]) == D("0.006")
    assert bot.metric("tradingbot_portfolio_fills") == total


def test_fills_wait_for_storage_and_are_stored_before_they_count(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    storage = bot.stack.storage
    storage.kill()

    def unready() -> dict[str, Any] | None:
        reply = bot.portfolio.get("/readyz")
        return reply.json if reply.status == 503 else None

    reasons = wait_until(unready, timeout=15, what="portfolio to be unready without storage")
    assert any("storage" in r["message"] for r in reasons["reasons"]), reasons

    buy = bot.trade("buy")
    pending = wait_until(
        lambda: (lambda s: s if s["recorder"]["pending"] >= 1 else None)(bot.status()),
        timeout=15,
        what="the fill to wait for storage",
    )
    assert pending["fills"] == 0 and pending["recorder"]["waiting_for_storage"] is True
    assert bot.positions()["fills"] == 0  # not applied before it is stored

    # Storage back on the same address, with the same database: the fills are stored, then applied.
    restarted = bot.stack.components.start(
        "storage", "--config", str(bot.stack.workdir / "storage.json"), port=storage.port
    )
    restarted.wait_ready()
    bot.stack.storage = restarted
    view = bot.wait_fills(len(buy["trades"]), timeout=30)
    assert {f["fill_id"] for f in bot.stored_fills()} == trades(buy)
    assert D(next(p for p in view["positions"] if p["pair"] == SYMBOL)["quantity"]) == D("0.01")


def test_without_market_data_positions_stay_ready_with_null_valuation(portfolio_bot: PortfolioBot) -> None:
    bot = portfolio_bot
    buy = bot.trade("buy")
    bot.wait_fills(len(buy["trades"]))
    wait_until(lambda: bot.position()["market_price"] is not None, timeout=15, what="a market price")

    bot.market_data.kill()
    position = wait_until(
        lambda: (lambda p: p if p["market_price"] is None else None)(bot.position()),
        timeout=15,
        what="the market price to be dropped with market data gone",
    )
    assert position["unrealized_pnl"] is None and position["exposure"] is None
    assert D(position["quantity"]) == D("0.01")  # the position itself is unaffected
    assert bot.portfolio.get("/readyz").status == 200

    def explained() -> dict[str, Any] | None:
        valuation = bot.portfolio.get("/healthz").json["health"]["components"]["valuation"]
        return valuation if valuation["status"] == "degraded" else None

    valuation = wait_until(explained, timeout=10, what="/healthz to explain the missing valuation")
    assert "no market quote for BTC/USD" in valuation["message"]
    assert "market_price and unrealized_pnl are null" in valuation["message"]
    assert bot.status()["unpriced_pairs"] == [SYMBOL]
