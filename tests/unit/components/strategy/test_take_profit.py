"""The built-in strategy's decisions, as pure functions of a quote and the trading state."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from tradingbot_components.clients.market_stream import Quote
from tradingbot_components.storage.models import OrderStatus, Side
from tradingbot_components.strategy import (
    CancelOrder,
    Limits,
    OrderView,
    PlaceOrder,
    StrategyContext,
    StrategyLoadError,
    TradingState,
    load_strategy,
)
from tradingbot_components.strategy.take_profit import TakeProfit
from tradingbot_components.trading.positions import Holding
from tradingbot_components.trading.rules import PairRules

RULES = {
    "BTC/USD": PairRules(
        "BTC/USD", "XBTUSD", 1, 8, D("0.00005"), D("0.5"), D("0.1"), D("0.0026"), "XXBT", "ZUSD"
    )
}
QUOTE = Quote("BTC/USD", D("50000.0"), D("1"), D("50000.2"), D("2"), 100.0)


def state(
    *,
    now: float = 100.0,
    orders: list[OrderView] = (),
    holding: Holding | None = None,
    target: str = "0.005",
    paused: str | None = None,
) -> TradingState:
    return TradingState(
        now=now,
        limits=Limits(D(target), D("100")),
        orders={"BTC/USD": list(orders)},
        holdings={"BTC/USD": holding} if holding else {},
        rules=RULES,
        paused=paused,
    )


def view(tag: str, side: Side, status: OrderStatus, created_at: float = 90.0) -> OrderView:
    return OrderView("c1", "BTC/USD", side, D("0.002"), D("50000"), status, D(0), None, tag, created_at)


def test_flat_and_idle_it_enters_at_the_ask_leaving_the_size_to_the_trader() -> None:
    assert TakeProfit().on_quote(QUOTE, state()) == [
        PlaceOrder("BTC/USD", Side.BUY, D("50000.2"), tag="entry")
    ]


def test_holding_it_exits_everything_at_the_target_over_the_average() -> None:
    intents = TakeProfit().on_quote(QUOTE, state(holding=Holding(D("0.002"), D("50000"))))
    assert intents == [PlaceOrder("BTC/USD", Side.SELL, D("50250.000"), volume=D("0.002"), tag="exit")]


def test_a_new_profit_target_applies_to_the_next_exit() -> None:
    strategy = TakeProfit()
    holding = Holding(D("0.002"), D("50000"))
    assert strategy.on_quote(QUOTE, state(holding=holding, target="0.01"))[0].price == D("50500.00")  # type: ignore[union-attr]


def test_it_waits_while_an_order_is_open_and_cancels_a_stale_entry() -> None:
    strategy = TakeProfit(entry_timeout=30)
    fresh = view("entry", Side.BUY, OrderStatus.NEW, created_at=90.0)
    assert strategy.on_quote(QUOTE, state(orders=[fresh])) == []
    stale = view("entry", Side.BUY, OrderStatus.NEW, created_at=10.0)
    assert strategy.on_quote(QUOTE, state(orders=[stale])) == [
        CancelOrder("c1", "entry not filled within 30s")
    ]
    resting_exit = view("exit", Side.SELL, OrderStatus.NEW, created_at=10.0)
    assert strategy.on_quote(QUOTE, state(orders=[resting_exit])) == []


def test_after_an_exit_fills_it_cools_down_before_entering_again() -> None:
    strategy = TakeProfit(cooldown=5)
    strategy.on_order(view("exit", Side.SELL, OrderStatus.FILLED), state(now=100.0))
    assert strategy.on_quote(QUOTE, state(now=103.0)) == []
    assert strategy.on_quote(QUOTE, state(now=105.5))[0].side is Side.BUY  # type: ignore[union-attr]


def test_paused_it_places_nothing_new() -> None:
    assert TakeProfit().on_quote(QUOTE, state(paused="gateway not ready")) == []


def test_dust_below_the_minimum_counts_as_flat() -> None:
    intents = TakeProfit().on_quote(QUOTE, state(holding=Holding(D("0.00001"), D("50000"))))
    assert intents[0].side is Side.BUY  # type: ignore[union-attr]


def test_parameters_come_from_the_context_and_unknown_ones_are_refused() -> None:
    strategy = TakeProfit()
    context = StrategyContext(container=None, config=None, pairs=("BTC/USD",), params={"cooldown": "0"})  # type: ignore[arg-type]
    asyncio.run(strategy.start(context))
    assert strategy.cooldown == 0
    bad = StrategyContext(container=None, config=None, pairs=(), params={"colldown": "1"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="colldown"):
        asyncio.run(TakeProfit().start(bad))


def test_strategies_load_by_import_path_with_errors_that_say_what_is_wrong() -> None:
    assert isinstance(load_strategy("tradingbot_components.strategy.take_profit:TakeProfit"), TakeProfit)
    for path, message in (
        ("no-colon", "expected 'package.module:ClassName'"),
        ("no_such_module:X", "cannot import"),
        ("tradingbot_components.strategy.take_profit:Nope", "has no 'Nope'"),
        ("tradingbot_components.strategy.take_profit:Decimal", "not a subclass"),
    ):
        with pytest.raises(StrategyLoadError, match=message):
            load_strategy(path)
