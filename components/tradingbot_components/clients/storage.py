"""The storage component as the trading services call it: orders, fills and balance snapshots as the
storage models (`tradingbot_components.storage.models`), over `/v1/`. A 2xx answer means durable."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradingbot_components.clients.base import JsonService
from tradingbot_components.storage.models import (
    BalanceSnapshot,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    plain,
)


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def order_from_dict(entry: Mapping[str, Any]) -> Order:
    price = entry.get("price")
    return Order(
        client_order_id=str(entry["client_order_id"]),
        pair=str(entry["pair"]),
        side=Side(entry["side"]),
        type=OrderType(entry["type"]),
        volume=Decimal(str(entry["volume"])),
        price=None if price is None else Decimal(str(price)),
        status=OrderStatus(entry["status"]),
        exchange_order_id=entry.get("exchange_order_id"),
        created_at=_time(entry["created_at"]),
        updated_at=_time(entry["updated_at"]),
    )


def fill_from_dict(entry: Mapping[str, Any]) -> Fill:
    return Fill(
        fill_id=str(entry["fill_id"]),
        pair=str(entry["pair"]),
        side=Side(entry["side"]),
        price=Decimal(str(entry["price"])),
        volume=Decimal(str(entry["volume"])),
        fee=Decimal(str(entry.get("fee") or "0")),
        fee_currency=entry.get("fee_currency"),
        client_order_id=entry.get("client_order_id"),
        exchange_order_id=entry.get("exchange_order_id"),
        executed_at=_time(entry["executed_at"]),
    )


class StorageClient(JsonService):
    """HTTP client of `endpoints.storage` for the trading records."""

    service = "storage"

    async def add_order(self, order: Order) -> tuple[Order, bool]:
        """Store a new order (idempotent by client order id); `(stored, created)`."""
        body = {k: v for k, v in order.to_dict().items() if k != "updated_at" and v is not None}
        status, document = await self.exchange("POST", "/v1/orders", body)
        if status not in (200, 201):
            self.fail("POST /v1/orders", status, document)
        return order_from_dict(document), status == 201

    async def update_order(
        self, client_order_id: str, status: OrderStatus, exchange_order_id: str | None = None
    ) -> Order:
        body: dict[str, Any] = {"status": str(status)}
        if exchange_order_id:
            body["exchange_order_id"] = exchange_order_id
        return order_from_dict(await self.call("PATCH", f"/v1/orders/{client_order_id}", body))

    async def get_order(self, client_order_id: str) -> Order | None:
        status, document = await self.exchange("GET", f"/v1/orders/{client_order_id}")
        if status == 404:
            return None
        if status != 200:
            self.fail(f"GET /v1/orders/{client_order_id}", status, document)
        return order_from_dict(document)

    async def list_orders(
        self, *, status: OrderStatus | None = None, pair: str | None = None, limit: int = 1000
    ) -> list[Order]:
        params = {"limit": str(limit)}
        if status is not None:
            params["status"] = str(status)
        if pair is not None:
            params["pair"] = pair
        document = await self.call("GET", "/v1/orders", params=params)
        return [order_from_dict(entry) for entry in document["orders"]]

    async def add_fill(self, fill: Fill) -> tuple[Fill, bool]:
        body = {k: v for k, v in fill.to_dict().items() if v is not None}
        status, document = await self.exchange("POST", "/v1/fills", body)
        if status not in (200, 201):
            self.fail("POST /v1/fills", status, document)
        return fill_from_dict(document), status == 201

    async def list_fills(
        self, *, client_order_id: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[Fill]:
        params = {"limit": str(limit)}
        if offset:
            params["offset"] = str(offset)
        if client_order_id is not None:
            params["client_order_id"] = client_order_id
        document = await self.call("GET", "/v1/fills", params=params)
        return [fill_from_dict(entry) for entry in document["fills"]]

    async def all_fills(self, page: int = 1000) -> list[Fill]:
        """Every stored fill, oldest first, a page at a time."""
        fills: list[Fill] = []
        while True:
            batch = await self.list_fills(limit=page, offset=len(fills))
            fills.extend(batch)
            if len(batch) < page:
                return fills

    async def add_balance_snapshot(self, balances: Mapping[str, Decimal]) -> None:
        await self.call("POST", "/v1/balances", {"balances": plain(dict(balances))})

    async def latest_balance_snapshot(self) -> BalanceSnapshot | None:
        status, document = await self.exchange("GET", "/v1/balances/latest")
        if status == 404:
            return None
        if status != 200:
            self.fail("GET /v1/balances/latest", status, document)
        return BalanceSnapshot(
            {k: Decimal(str(v)) for k, v in document["balances"].items()},
            _time(document["taken_at"]),
            document.get("snapshot_id"),
        )
