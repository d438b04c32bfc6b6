"""Typed clients of the bot's own components, for the trading services and for user strategies.

Each is an async context owner (`start()`/`close()`), and each is registered in a component's DI container
where it is used, so a strategy gets them with `await container.resolve(BalanceManagerClient)`.
"""

from tradingbot_components.clients.auth import TokenClient
from tradingbot_components.clients.balances import AssetBalance, BalanceManagerClient, Balances
from tradingbot_components.clients.base import JsonService, ServiceRejected, ServiceUnavailable
from tradingbot_components.clients.gateway import GatewayClient, GatewayReply
from tradingbot_components.clients.market_stream import MarketStream, Quote
from tradingbot_components.clients.portfolio import PortfolioClient, PortfolioView, Position
from tradingbot_components.clients.storage import StorageClient

__all__ = [
    "AssetBalance",
    "BalanceManagerClient",
    "Balances",
    "GatewayClient",
    "GatewayReply",
    "JsonService",
    "MarketStream",
    "PortfolioClient",
    "PortfolioView",
    "Position",
    "Quote",
    "ServiceRejected",
    "ServiceUnavailable",
    "StorageClient",
    "TokenClient",
]
