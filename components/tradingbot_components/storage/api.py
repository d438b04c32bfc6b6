"""The storage component's HTTP API under `/v1/`: what arrives is validated (pydantic) into domain records,
what leaves is JSON with decimals as strings. A 2xx answer means the write is durable.

    POST  /v1/orders                     idempotent by client_order_id (201 new, 200 a retry, 409 a clash)
    GET   /v1/orders?status=&pair=&limit=
    GET   /v1/orders/{client_order_id}
    PATCH /v1/orders/{client_order_id}   {"status", "exchange_order_id"?}
    POST  /v1/fills                      idempotent by fill_id
    GET   /v1/fills?client_order_id=&limit=&offset=   oldest first
    POST  /v1/balances                   {"balances": {"XBT": "0.5"}, "taken_at"?}
    GET   /v1/balances/latest
    GET   /v1/nonce/{key_id}
    POST  /v1/nonce/{key_id}             {"high_water": N}: stores max(stored, N), returns what is stored
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from tradingbot_components.config.changes import field_errors
from tradingbot_components.config.schema import Pair
from tradingbot_components.storage.models import (
    NONCE_MAX,
    BalanceSnapshot,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    utc_now,
)
from tradingbot_components.storage.repository import (
    Conflict,
    NotFound,
    StorageRepository,
    StorageUnavailable,
)

Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Asset = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9.]{1,16}$")]
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
_PRICED = {OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT, OrderType.ICEBERG}
M = TypeVar("M", bound=BaseModel)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderRequest(_Request):
    client_order_id: Ident
    pair: Pair
    side: Side
    type: OrderType
    volume: Positive
    price: Positive | None = None
    status: OrderStatus = OrderStatus.PENDING
    exchange_order_id: Ident | None = None
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _priced(self) -> OrderRequest:
        if self.type in _PRICED and self.price is None:
            raise ValueError(f"a {self.type} order needs a price")
        return self

    def to_order(self) -> Order:
        now = utc_now()
        return Order(
            self.client_order_id,
            self.pair,
            self.side,
            self.type,
            self.volume,
            self.price,
            self.status,
            self.exchange_order_id,
            self.created_at or now,
            now,
        )


class OrderUpdate(_Request):
    status: OrderStatus
    exchange_order_id: Ident | None = None


class FillRequest(_Request):
    fill_id: Ident
    pair: Pair
    side: Side
    price: Positive
    volume: Positive
    fee: NonNegative = Decimal(0)
    fee_currency: Asset | None = None
    client_order_id: Ident | None = None
    exchange_order_id: Ident | None = None
    executed_at: datetime | None = None

    def to_fill(self) -> Fill:
        values = self.model_dump(exclude={"executed_at"})
        return Fill(**values, executed_at=self.executed_at or utc_now())


class BalanceRequest(_Request):
    balances: dict[Asset, NonNegative]
    taken_at: datetime | None = None


class NonceRequest(_Request):
    high_water: Annotated[int, Field(ge=0, le=NONCE_MAX)]


class StorageApi:
    """Handlers over the repository that `repository()` returns (None until the database is open)."""

    def __init__(self, repository: Callable[[], StorageRepository | None]) -> None:
        self._repository = repository

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/v1/orders", self.add_order)
        app.router.add_get("/v1/orders", self.list_orders)
        app.router.add_get("/v1/orders/{client_order_id}", self.get_order)
        app.router.add_patch("/v1/orders/{client_order_id}", self.update_order)
        app.router.add_post("/v1/fills", self.add_fill)
        app.router.add_get("/v1/fills", self.list_fills)
        app.router.add_post("/v1/balances", self.add_balances)
        app.router.add_get("/v1/balances/latest", self.latest_balances)
        app.router.add_get("/v1/nonce/{key_id}", self.get_nonce)
        app.router.add_post("/v1/nonce/{key_id}", self.raise_nonce)

    async def add_order(self, request: web.Request) -> web.Response:
        body = await _parse(request, OrderRequest)
        stored, created = await self._repo().add_order(body.to_order())
        return web.json_response(stored.to_dict(), status=201 if created else 200)

    async def list_orders(self, request: web.Request) -> web.Response:
        query = request.query
        status = _enum(OrderStatus, query.get("status"), "status")
        orders = await self._repo().list_orders(status=status, pair=query.get("pair"), limit=_limit(request))
        return web.json_response({"orders": [order.to_dict() for order in orders]})

    async def get_order(self, request: web.Request) -> web.Response:
        cid = request.match_info["client_order_id"]
        order = await self._repo().get_order(cid)
        if order is None:
            raise NotFound(f"no order with client order id {cid!r}")
        return web.json_response(order.to_dict())

    async def update_order(self, request: web.Request) -> web.Response:
        body = await _parse(request, OrderUpdate)
        cid = request.match_info["client_order_id"]
        order = await self._repo().update_order(cid, body.status, body.exchange_order_id)
        return web.json_response(order.to_dict())

    async def add_fill(self, request: web.Request) -> web.Response:
        body = await _parse(request, FillRequest)
        stored, created = await self._repo().add_fill(body.to_fill())
        return web.json_response(stored.to_dict(), status=201 if created else 200)

    async def list_fills(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id")
        fills = await self._repo().list_fills(
            client_order_id=cid, limit=_limit(request), offset=_offset(request)
        )
        return web.json_response({"fills": [fill.to_dict() for fill in fills]})

    async def add_balances(self, request: web.Request) -> web.Response:
        body = await _parse(request, BalanceRequest)
        snapshot = BalanceSnapshot(dict(body.balances), body.taken_at or utc_now())
        stored = await self._repo().add_balance_snapshot(snapshot)
        return web.json_response(stored.to_dict(), status=201)

    async def latest_balances(self, request: web.Request) -> web.Response:
        snapshot = await self._repo().latest_balance_snapshot()
        if snapshot is None:
            raise NotFound("no balance snapshot stored yet")
        return web.json_response(snapshot.to_dict())

    async def get_nonce(self, request: web.Request) -> web.Response:
        mark = await self._repo().get_nonce(_key_id(request))
        return web.json_response(mark.to_dict())

    async def raise_nonce(self, request: web.Request) -> web.Response:
        key_id = _key_id(request)
        body = await _parse(request, NonceRequest)
        mark = await self._repo().raise_nonce(key_id, body.high_water)
        return web.json_response({**mark.to_dict(), "raised": mark.high_water == body.high_water})

    def _repo(self) -> StorageRepository:
        repository = self._repository()
        if repository is None:
            raise StorageUnavailable("the database is not open yet")
        return repository


@web.middleware
async def storage_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Domain errors as JSON answers; only `/v1/` routes are touched."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    try:
        return await handler(request)
    except _BadRequest as exc:
        return _error(400, "BadRequest", exc.message, exc.errors)
    except NotFound as exc:
        return _error(404, "NotFound", str(exc))
    except Conflict as exc:
        return _error(409, "Conflict", str(exc))
    except StorageUnavailable as exc:
        return _error(503, "StorageUnavailable", str(exc))


class _BadRequest(Exception):
    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.errors = message, errors or []


async def _parse(request: web.Request, model: type[M]) -> M:
    try:
        data = await request.json()
    except ValueError:
        raise _BadRequest("the body must be JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [error.to_dict() for error in field_errors(exc)]
        raise _BadRequest(f"invalid {model.__name__}", errors) from None


def _error(status: int, reason: str, message: str, errors: list[Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": reason, "message": message}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise _BadRequest(f"limit must be an integer from 1 to 1000, got {raw!r}")
    return int(raw)


def _offset(request: web.Request) -> int:
    raw = request.query.get("offset", "0")
    if not raw.isdigit():
        raise _BadRequest(f"offset must be an integer >= 0, got {raw!r}")
    return int(raw)


def _key_id(request: web.Request) -> str:
    key_id = request.match_info["key_id"]
    try:
        NonceKey.model_validate({"key_id": key_id})
    except ValidationError:
        raise _BadRequest("key_id must be 1-128 characters of A-Z a-z 0-9 . _ : -") from None
    return key_id


class NonceKey(_Request):
    key_id: Ident


E = TypeVar("E", OrderStatus, Side)


def _enum(kind: type[E], raw: str | None, name: str) -> E | None:
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(str(member) for member in kind)
        raise _BadRequest(f"{name} must be one of {allowed}, got {raw!r}") from None
