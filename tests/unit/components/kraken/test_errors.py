"""Kraken error strings: exact texts, their parts, and the kind of reaction each one calls for."""

from __future__ import annotations

import re

import pytest

from tradingbot_components.kraken.errors import (
    ErrorKind,
    KrakenAPIError,
    KrakenError,
    classify,
    is_backoff,
    is_exchange_fault,
    parse_error,
)


def test_every_constant_has_krakens_shape() -> None:
    for member in KrakenError:
        assert re.fullmatch(r"[EW][A-Z][A-Za-z]+:[^:]+", member.value), member


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("EAPI:Rate limit exceeded", ErrorKind.RATE_LIMITED),
        ("EGeneral:Too many requests", ErrorKind.RATE_LIMITED),
        ("EOrder:Rate limit exceeded", ErrorKind.TRADING_RATE_LIMITED),
        ("EOrder:Domain rate limit exceeded", ErrorKind.TRADING_RATE_LIMITED),
        ("EService:Throttled: 1700000000", ErrorKind.THROTTLED),
        ("EGeneral:Temporary lockout", ErrorKind.LOCKOUT),
        ("EService:Unavailable", ErrorKind.SERVICE),
        ("EService:Busy", ErrorKind.SERVICE),
        ("EService:Deadline elapsed", ErrorKind.ORDER_REJECTED),  # refused unexecuted: final, not an outage
        ("EGeneral:Internal error", ErrorKind.UNKNOWN_OUTCOME),
        ("EService:Market in cancel_only mode", ErrorKind.MARKET_RESTRICTED),
        ("EAPI:Invalid key", ErrorKind.AUTH),
        ("EGeneral:Permission denied", ErrorKind.AUTH),
        ("ESession:Invalid session", ErrorKind.AUTH),
        ("EAPI:Invalid nonce", ErrorKind.NONCE),
        ("EGeneral:Invalid arguments:volume", ErrorKind.INVALID_REQUEST),
        ("EQuery:Unknown asset pair", ErrorKind.INVALID_REQUEST),
        ("EOrder:Insufficient funds", ErrorKind.ORDER_REJECTED),
        ("EOrder:Something new", ErrorKind.ORDER_REJECTED),  # unknown texts fall back on the category
        ("EFunding:Unknown withdraw key", ErrorKind.ORDER_REJECTED),
        ("EService:Something new", ErrorKind.SERVICE),
        ("WGeneral:Deprecated", ErrorKind.WARNING),
        ("Cloudflare said no", ErrorKind.UNKNOWN),
    ],
)
def test_classification(text: str, kind: ErrorKind) -> None:
    assert classify(text) is kind


def test_parts_of_an_error() -> None:
    error = parse_error("EGeneral:Invalid arguments:volume")
    assert (error.severity, error.category, error.message, error.detail) == (
        "E",
        "General",
        "Invalid arguments",
        "volume",
    )
    assert error.code is KrakenError.INVALID_ARGUMENTS
    assert error.retry_at is None


def test_throttled_carries_its_retry_time() -> None:
    assert parse_error("EService:Throttled: 1700000030").retry_at == 1700000030.0
    assert parse_error("EService:Throttled").retry_at is None


def test_backoff_and_fault_kinds_do_not_overlap() -> None:
    for kind in ErrorKind:
        assert not (is_backoff(kind) and is_exchange_fault(kind))


def test_api_error_tells_a_person_what_to_do() -> None:
    error = KrakenAPIError("AddOrder", ["EAPI:Invalid nonce"])
    assert str(error).startswith("Kraken rejected AddOrder: EAPI:Invalid nonce (")
    assert "another process may be using the key" in str(error)
    assert error.kinds == {ErrorKind.NONCE}
    with pytest.raises(ValueError, match="at least one error"):
        KrakenAPIError("Balance", [])
