"""Market data's own process settings, outside the bot config: `TRADINGBOT_MARKET_DATA_<NAME>` in seconds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradingbot_components.config.process_settings import read_process_settings

ENV_PREFIX = "TRADINGBOT_MARKET_DATA_"


@dataclass(frozen=True, slots=True)
class MarketDataSettings:
    # A book without a valid snapshot this long while connected is stalled (its resubscribe got no
    # answer): the `books` health entry turns Unhealthy and its recovery resubscribes it.
    stall_after: float = 10.0


def read_market_data_settings(environ: Mapping[str, str]) -> MarketDataSettings:
    """Raises ValueError naming the variable and the reason."""
    return read_process_settings(MarketDataSettings, ENV_PREFIX, environ)
