"""What portfolio's health entries say: readiness needs the rebuild and a synced feed whose snapshot is
recorded; a missing quote only degrades the non-critical valuation entry."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.portfolio.health import feed_health, positions_health, valuation_health
from tradingbot_components.runtime import HealthStatus


def feed(**overrides: object) -> HealthStatus:
    values: dict[str, object] = {
        "connected": True,
        "synced": True,
        "recorded": 5,
        "sync_mark": 5,
        "waiting_for_storage": False,
        "last_error": None,
        "url": "ws://127.0.0.1:1/v2",
    }
    values.update(overrides)
    return feed_health(**values).status  # type: ignore[arg-type]


def test_the_feed_is_healthy_once_its_snapshot_is_recorded() -> None:
    assert feed() is HealthStatus.HEALTHY
    assert feed(recorded=6) is HealthStatus.HEALTHY  # live fills after the snapshot
    assert feed(recorded=3) is HealthStatus.UNKNOWN  # still recording the snapshot's fills
    assert feed(recorded=3, waiting_for_storage=True) is HealthStatus.UNHEALTHY


def test_the_feed_is_not_ready_until_connected_and_synced() -> None:
    assert feed(connected=False, synced=False) is HealthStatus.UNKNOWN  # first attempt under way
    assert feed(connected=False, synced=False, last_error="refused") is HealthStatus.UNHEALTHY
    assert feed(synced=False) is HealthStatus.UNKNOWN
    assert feed(sync_mark=None) is HealthStatus.UNKNOWN
    lost = feed_health(
        connected=False,
        synced=False,
        recorded=0,
        sync_mark=None,
        waiting_for_storage=False,
        last_error="no WebSocket token: auth unreachable",
        url="ws://x",
    )
    assert lost.message is not None and "no WebSocket token" in lost.message


def test_positions_are_unknown_until_rebuilt_and_degraded_when_incomplete() -> None:
    assert (
        positions_health(rebuilt_from=None, fills=0, refused=0, unvalued_fees={}).status
        is HealthStatus.UNKNOWN
    )
    healthy = positions_health(rebuilt_from=3, fills=4, refused=0, unvalued_fees={})
    assert healthy.status is HealthStatus.HEALTHY and healthy.details == {"fills": 4, "rebuilt_from_fills": 3}
    refused = positions_health(rebuilt_from=3, fills=3, refused=1, unvalued_fees={"KFEE": D("3")})
    assert refused.status is HealthStatus.DEGRADED
    assert (
        refused.message is not None and "1 fill(s) refused" in refused.message and "3 KFEE" in refused.message
    )


def test_valuation_names_the_pairs_without_a_price() -> None:
    assert valuation_health([], connected=True).status is HealthStatus.HEALTHY
    missing = valuation_health(["BTC/USD"], connected=False)
    assert missing.status is HealthStatus.DEGRADED
    assert missing.message == (
        "no market quote for BTC/USD (market data stream not connected): market_price and unrealized_pnl are null"
    )
    assert valuation_health(["BTC/USD"], connected=False, started=False).status is HealthStatus.UNKNOWN


def test_a_possible_gap_degrades_the_positions() -> None:
    gap = positions_health(
        rebuilt_from=1, fills=1, refused=0, unvalued_fees={}, possible_gap="fills may be missing"
    )
    assert gap.status is HealthStatus.DEGRADED and gap.message == "fills may be missing"
