"""The WS/REST comparison and the health it reports."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.balance_manager.drift import (
    Figure,
    Mismatch,
    compare,
    differences,
    drift_health,
)
from tradingbot_components.runtime import HealthStatus


def test_only_differences_beyond_dust_are_mismatches() -> None:
    ours = {"ZUSD": D("100.0000"), "XXBT": D("1.0000000000"), "XETH": D("5")}
    theirs = {"ZUSD": D("100.0000"), "XXBT": D("1.0000050000"), "XETH": D("5.0001"), "SOL": D("2")}
    found = compare(ours, theirs, ["ZUSD", "XXBT", "XETH", "SOL"], figure=Figure.TOTAL, dust=D("0.00001"))
    assert found == [
        Mismatch("SOL", Figure.TOTAL, D(0), D("2")),
        Mismatch("XETH", Figure.TOTAL, D("5"), D("5.0001")),
    ]
    assert found[1].difference == D("0.0001")
    assert found[1].to_dict() == {
        "asset": "XETH",
        "figure": "total",
        "ours": "5",
        "exchange": "5.0001",
        "difference": "0.0001",
    }
    assert found[1].describe() == "XETH total ours 5 vs exchange 5.0001 (+0.0001)"


def test_only_the_assets_asked_for_are_compared() -> None:
    assert compare({"A": D(1)}, {"A": D(2)}, [], figure=Figure.HELD, dust=D(0)) == []
    assert differences({"A": D(1)}, {"A": D(3), "B": D(1)}, ["A", "B"]) == {"A": D(2), "B": D(1)}


def test_zero_dust_catches_the_smallest_unit() -> None:
    found = compare({"ZUSD": D("1.0000")}, {"ZUSD": D("1.0001")}, ["ZUSD"], figure=Figure.TOTAL, dust=D(0))
    assert [m.asset for m in found] == ["ZUSD"]


def test_drift_health_is_degraded_for_totals_and_healthy_when_clean() -> None:
    assert drift_health(None, D("0.1")).status is HealthStatus.HEALTHY
    assert drift_health((), D("0.1")).status is HealthStatus.HEALTHY
    held_only = (Mismatch("ZUSD", Figure.HELD, D(1), D(2)),)
    assert (
        drift_health(held_only, D("0.1")).status is HealthStatus.HEALTHY
    )  # holds are corrected, not alerted
    drift = (Mismatch("XXBT", Figure.TOTAL, D("10"), D("10.01")),)
    result = drift_health(drift, D("0.1"))
    assert result.status is HealthStatus.DEGRADED
    assert result.message == (
        "WS and REST balances disagree beyond dust 0.1: XXBT total ours 10 vs exchange 10.01 (+0.01); REST adopted"
    )
