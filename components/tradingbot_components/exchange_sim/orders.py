"""Orders, fills and order requests of the simulated exchange, and the validation that turns REST
`AddOrder` fields or WS v2 `add_order` params into one `OrderRequest` (or Kraken's exact error).

Pure: the engine takes a validated request; nothing here touches balances or the book.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from tradingbot_components.exchange_sim.catalog import Catalog, PairSpec
from tradingbot_components.exchange_sim.market import Side
from tradingbot_components.kraken.errors import KrakenError


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    GTD = "GTD"


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    EXPIRED = "expired"


class OrderRejected(Exception):
    """A request Kraken would refuse; `error` is the exact string sent back."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


def invalid(field_name: str | None = None) -> OrderRejected:
    base = KrakenError.INVALID_ARGUMENTS.value
    return OrderRejected(f"{base}:{field_name}" if field_name else base)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order, whichever API it came through."""

    pair: PairSpec
    side: Side
    ordertype: OrderType
    volume: Decimal
    price: Decimal | None = None
    timeinforce: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    userref: int | None = None
    cl_ord_id: str | None = None
    expiretm: float | None = None
    validate: bool = False


@dataclass(slots=True)
class Fill:
    """One execution of an account's order."""

    trade_id: str
    txid: str
    pair: PairSpec
    side: Side
    ordertype: OrderType
    price: Decimal
    volume: Decimal
    cost: Decimal
    fee: Decimal
    time: float
    maker: bool
    exec_id: int = 0  # per-pair trade sequence, the WS v2 `trade_id`


@dataclass(slots=True)
class Order:
    """An account's order as the engine keeps it."""

    txid: str
    request: OrderRequest
    opentm: float
    status: OrderStatus = OrderStatus.PENDING
    vol_exec: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    closetm: float | None = None
    reason: str | None = None
    trades: list[str] = field(default_factory=list)

    @property
    def pair(self) -> PairSpec:
        return self.request.pair

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def remaining(self) -> Decimal:
        return self.request.volume - self.vol_exec

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.PENDING, OrderStatus.OPEN)

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.vol_exec if self.vol_exec else Decimal(0)

    def hold(self, taker_fee: Decimal) -> tuple[str, Decimal]:
        """(asset id, amount) this open order reserves: quote incl. fee for buys, base for sells."""
        if not self.is_open:
            return self.pair.quote.id, Decimal(0)
        if self.side is Side.BUY:
            price = self.request.price or Decimal(0)
            return self.pair.quote.id, self.remaining * price * (1 + taker_fee)
        return self.pair.base.id, self.remaining


# cl_ord_id: a UUID with or without dashes, or ASCII text of at most 18 characters.
_CL_ORD_ID = re.compile(
    r"^([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}|[\x21-\x7e]{1,18})$"
)
_TRUE = frozenset({"true", "1", "yes"})


def _decimal(value: Any, field_name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise invalid(field_name)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(field_name) from None
    if not number.is_finite() or number <= 0:
        raise invalid(field_name)
    return number


def _decimals(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in _TRUE


def _check_amounts(pair: PairSpec, volume: Decimal, price: Decimal | None) -> None:
    if _decimals(volume) > pair.lot_decimals:
        raise invalid("volume")
    if volume < pair.ordermin:
        raise OrderRejected(KrakenError.ORDER_MINIMUM_NOT_MET.value)
    if price is not None:
        if _decimals(price) > pair.pair_decimals:
            raise OrderRejected(KrakenError.INVALID_PRICE.value)
        if price * volume < pair.costmin:
            raise OrderRejected(KrakenError.COST_MINIMUM_NOT_MET.value)


def _identifiers(cl_ord_id: Any, userref: Any, userref_field: str) -> tuple[str | None, int | None]:
    if cl_ord_id not in (None, "") and userref not in (None, ""):
        raise invalid("cl_ord_id")
    ref: int | None = None
    if userref not in (None, ""):
        try:
            ref = int(str(userref))
        except ValueError:
            raise invalid(userref_field) from None
        if not -(2**31) <= ref < 2**31:
            raise invalid(userref_field)
    client_id: str | None = None
    if cl_ord_id not in (None, ""):
        client_id = str(cl_ord_id)
        if not _CL_ORD_ID.match(client_id):
            raise invalid("cl_ord_id")
    return client_id, ref


def find_pair(catalog: Catalog, name: Any) -> PairSpec:
    pair = catalog.pair(str(name)) if name not in (None, "") else None
    if pair is None:
        raise OrderRejected(KrakenError.UNKNOWN_ASSET_PAIR.value)
    return pair


@dataclass(frozen=True, slots=True)
class _Fields:
    """The names one API gives the order fields."""

    pair: str
    side: str
    ordertype: str
    volume: str
    price: str
    timeinforce: str
    userref: str
    expiry: str


REST_FIELDS = _Fields("pair", "type", "ordertype", "volume", "price", "timeinforce", "userref", "expiretm")
WS_FIELDS = _Fields(
    "symbol",
    "side",
    "order_type",
    "order_qty",
    "limit_price",
    "time_in_force",
    "order_userref",
    "expire_time",
)


def _choice(kind: type[enum.StrEnum], value: Any, field_name: str) -> Any:
    try:
        return kind(str(value))
    except ValueError:
        raise invalid(field_name) from None


def _expiry_time(value: Any, now: float, field_name: str) -> float | None:
    """`expiretm`/`expire_time`: Unix seconds, `+<seconds>`, or RFC3339; empty or 0 means none."""
    if value in (None, "", "0", 0):
        return None
    text = str(value).strip()
    try:
        if text.startswith("+"):
            return now + float(text[1:])
        return float(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(field_name) from None


DEADLINE_MAX_AHEAD = 60.0  # Kraken: a deadline from now+2 s to now+60 s (as sent)


def _check_deadline(value: Any, now: float) -> None:
    """`deadline` (RFC3339): an order arriving after it is refused, so a late delivery can never trade."""
    if value in (None, ""):
        return
    try:
        deadline = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid("deadline") from None
    if deadline <= now:
        raise OrderRejected(KrakenError.DEADLINE_ELAPSED.value)
    if deadline > now + DEADLINE_MAX_AHEAD:
        raise invalid("deadline")


def _parse(
    params: Mapping[str, Any], catalog: Catalog, now: float, f: _Fields, post_only: bool
) -> OrderRequest:
    pair = find_pair(catalog, params.get(f.pair))
    side = _choice(Side, params.get(f.side, ""), f.side)
    ordertype = _choice(OrderType, params.get(f.ordertype, ""), f.ordertype)
    volume = _decimal(params.get(f.volume), f.volume)
    price = _decimal(params.get(f.price), f.price) if ordertype is OrderType.LIMIT else None
    tif = _choice(TimeInForce, str(params.get(f.timeinforce) or "GTC").upper(), f.timeinforce)
    client_id, ref = _identifiers(params.get("cl_ord_id"), params.get(f.userref), f.userref)
    expiretm = _expiry_time(params.get(f.expiry), now, f.expiry)
    if tif is TimeInForce.GTD and expiretm is None:
        raise invalid(f.expiry)
    _check_deadline(params.get("deadline"), now)
    _check_amounts(pair, volume, price)
    return OrderRequest(
        pair=pair,
        side=side,
        ordertype=ordertype,
        volume=volume,
        price=price,
        timeinforce=tif,
        post_only=post_only,
        userref=ref,
        cl_ord_id=client_id,
        expiretm=expiretm,
        validate=_truthy(params.get("validate", False)),
    )


def parse_rest_order(params: Mapping[str, Any], catalog: Catalog, now: float) -> OrderRequest:
    """A REST `AddOrder` body (form or JSON fields) as a request; raises `OrderRejected`."""
    oflags = {flag.strip() for flag in str(params.get("oflags") or "").split(",") if flag.strip()}
    if oflags - {"post", "fcib", "fciq", "nompp", "viqc"}:
        raise invalid("oflags")
    return _parse(params, catalog, now, REST_FIELDS, "post" in oflags)


def parse_ws_order(params: Mapping[str, Any], catalog: Catalog, now: float) -> OrderRequest:
    """WS v2 `add_order` params as a request; raises `OrderRejected`."""
    return _parse(params, catalog, now, WS_FIELDS, _truthy(params.get("post_only", False)))


def describe(request: OrderRequest) -> str:
    """Kraken's `descr.order` text, e.g. `buy 1.25000000 XBTUSD @ limit 37500.0`."""
    pair = request.pair
    volume = format(request.volume.quantize(pair.lot_size), "f")
    if request.ordertype is OrderType.MARKET:
        return f"{request.side} {volume} {pair.altname} @ market"
    price = format((request.price or Decimal(0)).quantize(pair.tick_size), "f")
    return f"{request.side} {volume} {pair.altname} @ limit {price}"
