"""Fault documents: validation with field-named errors, scope, `count` and `duration` expiry."""

from __future__ import annotations

import pytest

from tradingbot_components.exchange_sim.faults import (
    FaultAction,
    FaultMode,
    FaultSpecError,
    FaultState,
    Scope,
    parse_fault,
)

NOW = 1000.0


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "body: expected a JSON object"),
        ({"mode": "explode"}, "mode: expected one of"),
        ({"mode": "unavailable", "scope": "everywhere"}, "scope: expected public, private or all"),
        ({"mode": "http_error", "status": 404}, "status: expected a 5xx"),
        ({"mode": "latency"}, "seconds: required"),
        ({"mode": "latency", "seconds": -1}, "seconds: expected a number >= 0"),
        ({"mode": "unavailable", "count": 0}, "count: expected an integer >= 1"),
        ({"mode": "error", "error": "boom"}, "error: expected a Kraken error text"),
    ],
)
def test_bad_documents_name_the_field(document: object, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(document, NOW)


def test_unavailable_until_cleared() -> None:
    state = FaultState()
    state.apply(parse_fault({"mode": "unavailable"}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW) == FaultAction(error="EService:Unavailable")
    assert state.on_request(Scope.PRIVATE, NOW) == FaultAction(error="EService:Unavailable")
    state.apply(parse_fault({"mode": "none"}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW) is None


def test_scope_count_and_duration() -> None:
    state = FaultState()
    state.apply(parse_fault({"mode": "http_error", "status": 520, "scope": "private", "count": 2}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW) is None
    assert state.on_request(Scope.PRIVATE, NOW) == FaultAction(status=520)
    assert state.describe(NOW)["active"]["count"] == 1
    assert state.on_request(Scope.PRIVATE, NOW) == FaultAction(status=520)
    assert state.on_request(Scope.PRIVATE, NOW) is None
    state.apply(parse_fault({"mode": "latency", "seconds": 0.5, "duration": 10}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW + 9) == FaultAction(delay=0.5)
    assert state.on_request(Scope.PUBLIC, NOW + 10) is None


def test_lockout_is_private_and_lasts_its_seconds() -> None:
    fault = parse_fault({"mode": "lockout", "seconds": 30}, NOW)
    assert fault.mode is FaultMode.LOCKOUT and fault.scope is Scope.PRIVATE and fault.until == NOW + 30
    state = FaultState()
    state.apply(fault)
    assert state.on_request(Scope.PRIVATE, NOW + 29) == FaultAction(error="EGeneral:Temporary lockout")
    assert state.on_request(Scope.PRIVATE, NOW + 30) is None


def test_throttled_names_the_retry_time_and_error_sends_any_text() -> None:
    state = FaultState()
    state.apply(parse_fault({"mode": "throttled", "seconds": 5}, NOW))
    assert state.on_request(Scope.PRIVATE, NOW) == FaultAction(error="EService:Throttled: 1005")
    state.apply(parse_fault({"mode": "error", "error": "EService:Busy"}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW) == FaultAction(error="EService:Busy")


def test_checksum_corruption_counts_book_updates_not_requests() -> None:
    state = FaultState()
    state.apply(parse_fault({"mode": "corrupt_checksum", "count": 2}, NOW))
    assert state.on_request(Scope.PUBLIC, NOW) is None
    assert [state.take_corruption() for _ in range(3)] == [True, True, False]
