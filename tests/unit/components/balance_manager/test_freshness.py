"""How old the balances are, and readiness from it."""

from __future__ import annotations

from tradingbot_components.balance_manager.freshness import balance_age, balances_health
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
