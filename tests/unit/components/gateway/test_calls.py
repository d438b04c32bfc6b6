"""What kind of call a request is: the facts behind retries, rate charges and body encoding."""

from __future__ import annotations

import pytest

from tradingbot_components.gateway.calls import (
    ANY_PAIR,
    CallKind,
    body_format_for,
    call_kind,
    governed_pair,
    order_count,
    retry_safe,
)
from tradingbot_components.kraken.signing import BodyFormat


@pytest.mark.parametrize(
    ("method", "params", "kind"),
    [
        ("Balance", {}, CallKind.READ),
        ("OpenOrders", {"cl_ord_id": "a"}, CallKind.READ),
        ("GetWebSocketsToken", {}, CallKind.READ),
        ("AddOrder", {"pair": "XBTUSD"}, CallKind.MUTATING),
        ("AddOrder", {"pair": "XBTUSD", "cl_ord_id": ""}, CallKind.MUTATING),
        ("AddOrder", {"pair": "XBTUSD", "cl_ord_id": "bot-1"}, CallKind.IDEMPOTENT),
        ("AddOrder", {"pair": "XBTUSD", "validate": True}, CallKind.READ),
        ("AddOrder", {"pair": "XBTUSD", "validate": "true"}, CallKind.READ),
        ("AddOrderBatch", {"orders": [{"cl_ord_id": "a"}, {"cl_ord_id": "b"}]}, CallKind.MUTATING),
        ("CancelOrder", {"txid": "O1"}, CallKind.MUTATING),
        ("CancelAllOrdersAfter", {"timeout": 60}, CallKind.IDEMPOTENT),
        ("Withdraw", {}, CallKind.MUTATING),
        ("SomethingNew", {}, CallKind.MUTATING),  # unknown private methods are assumed to act
    ],
)
def test_call_kind(method: str, params: dict[str, object], kind: CallKind) -> None:
    assert call_kind(method, params) is kind


def test_public_calls_and_retry_safety() -> None:
    assert call_kind("Ticker", {}, public=True) is CallKind.PUBLIC
    assert [retry_safe(kind) for kind in CallKind] == [True, True, True, False]


def test_body_format() -> None:
    assert body_format_for("AddOrder", {"pair": "XBTUSD", "close": {"ordertype": "limit"}}) is BodyFormat.FORM
    assert body_format_for("AddOrderBatch", {"orders": []}) is BodyFormat.JSON
    assert body_format_for("Other", {"orders": [{"a": "1"}]}) is BodyFormat.JSON
    assert body_format_for("CancelOrder", {"txid": ["a", "b"]}) is BodyFormat.FORM


def test_governed_pair() -> None:
    assert governed_pair("Balance", {"pair": "XBTUSD"}) is None
    assert governed_pair("AddOrder", {"pair": "XBTUSD"}, "ETHUSD") == "XBTUSD"
    assert governed_pair("CancelOrder", {"txid": "O1"}, "ETHUSD") == "ETHUSD"
    assert governed_pair("CancelOrder", {"txid": "O1"}) == ANY_PAIR


def test_order_count() -> None:
    assert order_count("AddOrderBatch", {"orders": [{}, {}, {}]}) == 3
    assert order_count("CancelOrderBatch", {"orders": ["a", "b"]}) == 2
    assert order_count("AddOrder", {"orders": [{}, {}]}) == 1
