"""The storage interface the HTTP API is written against, and the errors it speaks.

One implementation (`sql.SqlRepository`) serves both backends; `backends.open_repository` picks one.
"""

from __future__ import annotations

from typing import Any, Protocol

from tradingbot_components.storage.models import BalanceSnapshot, Fill, NonceMark, Order, OrderStatus


class StorageError(Exception):
    """Base of what the repository raises on purpose."""


class StorageUnavailable(StorageError):
    """The backend cannot be opened (missing driver, unreachable server, unwritable path)."""


class NotFound(StorageError):
    """No record with that key."""


class Conflict(StorageError):
    """A write that contradicts what is stored (same id, different request; a finished order reopened)."""


class StorageRepository(Protocol):
    """Orders, fills, balance snapshots and nonce marks; every acknowledged write is durable."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def check_writable(self) -> None:
        """Raise unless a write can be committed right now."""

    def describe(self) -> dict[str, Any]:
        """Backend and location, for /healthz (never a DSN)."""

    async def add_order(self, order: Order) -> tuple[Order, bool]:
        """Insert by client order id; a retry of the same request returns the stored order and False."""

    async def get_order(self, client_order_id: str) -> Order | None: ...

    async def list_orders(
        self, *, status: OrderStatus | None = None, pair: str | None = None, limit: int = 100
    ) -> list[Order]: ...

    async def update_order(
        self, client_order_id: str, status: OrderStatus, exchange_order_id: str | None = None
    ) -> Order: ...

    async def add_fill(self, fill: Fill) -> tuple[Fill, bool]: ...

    async def list_fills(
        self, *, client_order_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Fill]: ...

    async def add_balance_snapshot(self, snapshot: BalanceSnapshot) -> BalanceSnapshot: ...

    async def latest_balance_snapshot(self) -> BalanceSnapshot | None: ...

    async def get_nonce(self, key_id: str) -> NonceMark:
        """The mark for `key_id` (0 when none was ever stored)."""

    async def raise_nonce(self, key_id: str, high_water: int) -> NonceMark:
        """Store max(stored, `high_water`) atomically and return what is stored."""
