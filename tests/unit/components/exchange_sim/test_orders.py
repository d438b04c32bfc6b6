"""Order requests from REST fields and WS v2 params: what is accepted, and Kraken's error for the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.unit.components.exchange_sim.conftest import NOW
from tradingbot_components.exchange_sim.catalog import Catalog
from tradingbot_components.exchange_sim.orders import (
    OrderRejected,
    OrderType,
    TimeInForce,
    describe,
    parse_rest_order,
    parse_ws_order,
)

CATALOG = Catalog.from_config(["XBT/USD", "ETH/USD"])
LIMIT = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "37500.0", "volume": "1.25"}


def test_a_rest_limit_order() -> None:
    request = parse_rest_order({**LIMIT, "oflags": "post,fciq", "cl_ord_id": "abc-1"}, CATALOG, NOW)
    assert request.pair.id == "XXBTZUSD" and request.ordertype is OrderType.LIMIT
    assert request.price == Decimal("37500.0") and request.volume == Decimal("1.25")
    assert request.post_only and request.cl_ord_id == "abc-1" and not request.validate
    assert describe(request) == "buy 1.25000000 XBTUSD @ limit 37500.0"


@pytest.mark.parametrize("pair", ["XBTUSD", "XXBTZUSD", "XBT/USD", "BTC/USD"])
def test_every_pair_spelling_is_accepted(pair: str) -> None:
    assert parse_rest_order({**LIMIT, "pair": pair}, CATALOG, NOW).pair.id == "XXBTZUSD"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"pair": "DOGEJPY"}, "EQuery:Unknown asset pair"),
        ({"type": "hold"}, "EGeneral:Invalid arguments:type"),
        ({"ordertype": "stop-loss"}, "EGeneral:Invalid arguments:ordertype"),
        ({"volume": "abc"}, "EGeneral:Invalid arguments:volume"),
        ({"volume": "-1"}, "EGeneral:Invalid arguments:volume"),
        ({"volume": "0.123456789"}, "EGeneral:Invalid arguments:volume"),
        ({"volume": "0.00001"}, "EOrder:Order minimum not met"),
        ({"price": "37500.05"}, "EOrder:Invalid price"),
        ({"price": "1.0", "volume": "0.0001"}, "EOrder:Cost minimum not met"),
        ({"cl_ord_id": "x", "userref": "5"}, "EGeneral:Invalid arguments:cl_ord_id"),
        ({"cl_ord_id": "this-is-far-too-long-for-text"}, "EGeneral:Invalid arguments:cl_ord_id"),
        ({"userref": "2147483648"}, "EGeneral:Invalid arguments:userref"),
        ({"timeinforce": "GTD"}, "EGeneral:Invalid arguments:expiretm"),
        ({"oflags": "moon"}, "EGeneral:Invalid arguments:oflags"),
    ],
)
def test_rest_rejections(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(OrderRejected) as raised:
        parse_rest_order({**LIMIT, **changes}, CATALOG, NOW)
    assert raised.value.error == error


def test_uuid_cl_ord_ids_and_relative_expiry() -> None:
    request = parse_rest_order(
        {
            **LIMIT,
            "cl_ord_id": "6d47a5f0-6fd4-4b84-b56e-c23f0f689c20",
            "timeinforce": "GTD",
            "expiretm": "+30",
        },
        CATALOG,
        NOW,
    )
    assert request.timeinforce is TimeInForce.GTD and request.expiretm == NOW + 30
    assert parse_rest_order({**LIMIT, "cl_ord_id": "6d47a5f06fd44b84b56ec23f0f689c20"}, CATALOG, NOW)


def test_a_ws_order_with_json_numbers() -> None:
    request = parse_ws_order(
        {
            "order_type": "limit",
            "side": "sell",
            "order_qty": 0.5,
            "limit_price": 3000.25,
            "symbol": "ETH/USD",
            "time_in_force": "ioc",
            "order_userref": 9,
            "validate": True,
        },
        CATALOG,
        NOW,
    )
    assert request.pair.id == "XETHZUSD" and request.price == Decimal("3000.25")
    assert request.timeinforce is TimeInForce.IOC and request.userref == 9 and request.validate


def test_ws_rejections_name_the_v2_field() -> None:
    with pytest.raises(OrderRejected) as raised:
        parse_ws_order(
            {"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "BTC/USD"}, CATALOG, NOW
        )
    assert raised.value.error == "EGeneral:Invalid arguments:limit_price"
