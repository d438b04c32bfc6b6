"""The trader's process settings outside the bot config (`TRADINGBOT_TRADER_<NAME>`), and the hot limits
it reads from the config for every decision. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradingbot_components.config.process_settings import read_process_settings
from tradingbot_components.config.schema import TradingConfig
from tradingbot_components.strategy.api import Limits
from tradingbot_components.strategy.loading import DEFAULT_STRATEGY

ENV_PREFIX = "TRADINGBOT_TRADER_"
DEADLINE_RANGE = (5.0, 60.0)  # Kraken accepts deadlines from now+2 s to now+60 s; keep clear of the low end


@dataclass(frozen=True, slots=True)
class TraderSettings:
    """Seconds unless said otherwise; each can be set as `TRADINGBOT_TRADER_<NAME>`."""

    order_deadline: float = 10.0  # AddOrder `deadline`: later than this the exchange refuses the order
    dead_man_timeout: float = 60.0  # CancelAllOrdersAfter timeout...
    dead_man_interval: float = 20.0  # ...refreshed this often while the trader is healthy
    balance_refresh: float = 1.0  # how old the cached balances may be when an entry is checked
    gateway_check_interval: float = 1.0  # gateway readiness polls (pauses new orders while not ready)
    cancel_timeout: float = 15.0  # cancelling the open orders on the way out
    cancel_retry: float = 5.0  # an order's cancel is sent again only this long after the last one
    recent_orders: float = 200  # finished orders kept for GET /orders (count)


def read_trader_settings(environ: Mapping[str, str]) -> TraderSettings:
    """Settings with environment overrides; raises ValueError naming the variable and the reason."""
    settings = read_process_settings(TraderSettings, ENV_PREFIX, environ)
    low, high = DEADLINE_RANGE
    if not low <= settings.order_deadline <= high:
        raise ValueError(f"{ENV_PREFIX}ORDER_DEADLINE: must be from {low:g} to {high:g} s (Kraken's range)")
    if settings.dead_man_interval >= settings.dead_man_timeout:
        raise ValueError(
            f"{ENV_PREFIX}DEAD_MAN_INTERVAL must be below {ENV_PREFIX}DEAD_MAN_TIMEOUT, or the switch fires "
            "between refreshes"
        )
    return settings


def strategy_path(environ: Mapping[str, str], argument: str | None) -> str:
    """The strategy's import path: `--strategy`, else `TRADINGBOT_TRADER_STRATEGY`, else the built-in one."""
    return argument or environ.get(ENV_PREFIX + "STRATEGY") or DEFAULT_STRATEGY


def limits_of(trading: TradingConfig) -> Limits:
    """The config's floats as exact decimals (via their shortest repr: 0.005 stays 0.005)."""
    return Limits(Decimal(repr(trading.profit_target)), Decimal(repr(trading.max_position_size)))
