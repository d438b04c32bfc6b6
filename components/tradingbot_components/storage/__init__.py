"""The storage component: orders, fills, balance snapshots and nonce high-water marks behind `/v1/`."""

from tradingbot_components.storage.models import (
    BalanceSnapshot,
    Fill,
    NonceMark,
    Order,
    OrderStatus,
    OrderType,
    Side,
)
from tradingbot_components.storage.repository import (
    Conflict,
    NotFound,
    StorageError,
    StorageRepository,
    StorageUnavailable,
)

__all__ = [
    "BalanceSnapshot",
    "Conflict",
    "Fill",
    "NonceMark",
    "NotFound",
    "Order",
    "OrderStatus",
    "OrderType",
    "Side",
    "StorageError",
    "StorageRepository",
    "StorageUnavailable",
]
