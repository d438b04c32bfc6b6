"""The trader's process settings and its hot limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingbot_components.config.schema import TradingConfig
from tradingbot_components.trader.settings import limits_of, read_trader_settings, strategy_path


def test_a_deadline_outside_krakens_range_is_refused() -> None:
    assert read_trader_settings({"TRADINGBOT_TRADER_ORDER_DEADLINE": "30"}).order_deadline == 30
    for value in ("1", "61"):
        with pytest.raises(ValueError, match="ORDER_DEADLINE: must be from 5 to 60 s"):
            read_trader_settings({"TRADINGBOT_TRADER_ORDER_DEADLINE": value})


def test_the_dead_mans_switch_must_be_refreshed_before_it_fires() -> None:
    with pytest.raises(ValueError, match="DEAD_MAN_INTERVAL must be below"):
        read_trader_settings({"TRADINGBOT_TRADER_DEAD_MAN_INTERVAL": "60"})


def test_limits_are_exact_decimals_of_the_configured_values() -> None:
    limits = limits_of(TradingConfig(profit_target=0.007, max_position_size=250.5))
    assert limits.profit_target == Decimal("0.007") and limits.max_position_size == Decimal("250.5")


def test_the_strategy_argument_wins_over_the_environment() -> None:
    environ = {"TRADINGBOT_TRADER_STRATEGY": "env.mod:S"}
    assert strategy_path(environ, "arg.mod:S") == "arg.mod:S"
    assert strategy_path(environ, None) == "env.mod:S"
    assert strategy_path({}, None).endswith("take_profit:TakeProfit")
