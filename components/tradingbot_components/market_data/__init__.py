"""Market data: Kraken WebSocket v2 books (checksum-verified), tickers and trades for the configured pairs,
fanned out to other components on the internal `/stream` WebSocket.

Layers: `symbols`, `market`, `feeds` (values and per-pair state); `resync`, `reconnect` (pure decisions);
`market_state` (frames -> state, no I/O); `exchange` (the WS client shell); `stream_messages` + `stream`
(the internal endpoint); `metrics`; `component` (wiring into a component process).
"""

from tradingbot_components.market_data.feeds import BookState, PairFeed, Resync
from tradingbot_components.market_data.market import Gap, Ticker, Trade
from tradingbot_components.market_data.market_state import MarketState
from tradingbot_components.market_data.reconnect import ConnectionBudget, ReconnectPolicy, next_attempt_delay
from tradingbot_components.market_data.resync import ResyncAction, ResyncPolicy, ResyncReason, plan_resync
from tradingbot_components.market_data.stream_messages import Channel, MessageType, Subscription
from tradingbot_components.market_data.symbols import PairPrecision, PrecisionSource, rest_altname, ws_symbol

__all__ = [
    "BookState",
    "Channel",
    "ConnectionBudget",
    "Gap",
    "MarketState",
    "MessageType",
    "PairFeed",
    "PairPrecision",
    "PrecisionSource",
    "ReconnectPolicy",
    "Resync",
    "ResyncAction",
    "ResyncPolicy",
    "ResyncReason",
    "Subscription",
    "Ticker",
    "Trade",
    "next_attempt_delay",
    "plan_resync",
    "rest_altname",
    "ws_symbol",
]
