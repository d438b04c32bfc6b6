"""AddOrder's `deadline`: an order that arrives late is refused, never placed."""

from __future__ import annotations

import datetime as dt

import pytest

from tradingbot_components.exchange_sim.orders import OrderRejected, _check_deadline


def stamp(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def test_an_order_before_its_deadline_passes_and_one_after_is_refused() -> None:
    _check_deadline(stamp(1_000_010.0), 1_000_000.0)
    _check_deadline(None, 1_000_000.0)
    with pytest.raises(OrderRejected) as late:
        _check_deadline(stamp(999_999.5), 1_000_000.0)
    assert late.value.error == "EService:Deadline elapsed"


def test_a_deadline_too_far_ahead_or_unreadable_is_an_invalid_argument() -> None:
    for value in (stamp(1_000_061.0), "tomorrow"):
        with pytest.raises(OrderRejected) as refused:
            _check_deadline(value, 1_000_000.0)
        assert refused.value.error == "EGeneral:Invalid arguments:deadline"
