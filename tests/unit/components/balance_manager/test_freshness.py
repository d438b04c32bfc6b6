"""How old the balances are and readiness from it; the feed and snapshot health entries."""

from __future__ import annotations

from tradingbot_components.balance_manager.freshness import balance_age, balances_health
from tradingbot_components.balance_manager.health import feed_health, snapshots_health
from tradingbot_components.runtime import HealthStatus


def test_no_age_before_the_first_reconcile() -> None:
    assert balance_age(100.0, reconciled_at=None, feed_synced=True, feed_lost_at=None) is None
    result = balances_health(
        100.0, reconciled_at=None, feed_synced=False, feed_lost_at=None, max_age=30, last_error="BalanceEx: E"
    )
    assert result.status is HealthStatus.UNKNOWN
    assert result.message == "balances not reconciled with REST BalanceEx yet: BalanceEx: E"


def test_a_synced_feed_keeps_them_current() -> None:
    assert balance_age(1000.0, reconciled_at=10.0, feed_synced=True, feed_lost_at=None) == 0.0
    result = balances_health(1000.0, reconciled_at=10.0, feed_synced=True, feed_lost_at=None, max_age=30)
    assert result.status is HealthStatus.HEALTHY


def test_without_the_feed_they_age_from_the_later_of_reconcile_and_loss() -> None:
    assert balance_age(100.0, reconciled_at=50.0, feed_synced=False, feed_lost_at=None) == 50.0
    assert balance_age(100.0, reconciled_at=50.0, feed_synced=False, feed_lost_at=80.0) == 20.0
    assert balance_age(100.0, reconciled_at=90.0, feed_synced=False, feed_lost_at=80.0) == 10.0


def test_older_than_the_bound_is_not_ready_and_says_why() -> None:
    fresh = balances_health(100.0, reconciled_at=71.0, feed_synced=False, feed_lost_at=60.0, max_age=30)
    assert fresh.status is HealthStatus.HEALTHY
    stale = balances_health(
        100.0, reconciled_at=50.0, feed_synced=False, feed_lost_at=60.0, max_age=30, last_error="circuit open"
    )
    assert stale.status is HealthStatus.UNHEALTHY
    assert stale.message == (
        "balances are 40.0s old (bound 30s): the WS feed is down and no REST reconcile since; "
        "last reconcile error: circuit open"
    )
    assert stale.details == {"age": 40.0, "max_age": 30, "feed_synced": False}


def test_the_feed_entry_is_degraded_not_unhealthy_while_rest_carries_on() -> None:
    url = "ws://127.0.0.1:1/v2"
    assert (
        feed_health(synced=True, connected=True, connects=1, last_error=None, url=url).status
        is HealthStatus.HEALTHY
    )
    first = feed_health(synced=False, connected=False, connects=0, last_error=None, url=url)
    assert (first.status, first.message) == (HealthStatus.UNKNOWN, f"connecting to {url}")
    lost = feed_health(synced=False, connected=False, connects=1, last_error="1006", url=url)
    assert lost.status is HealthStatus.DEGRADED
    assert lost.message == f"not connected to {url}: 1006; balances from REST reconciles only"


def test_failing_snapshot_writes_are_degraded() -> None:
    assert snapshots_health(0, None).status is HealthStatus.HEALTHY
    failing = snapshots_health(2, "storage at x is unreachable")
    assert failing.status is HealthStatus.DEGRADED
    assert failing.message == "2 balance snapshot write(s) failed in a row: storage at x is unreachable"
