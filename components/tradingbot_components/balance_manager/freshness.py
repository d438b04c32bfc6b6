"""How old the balances are, and whether that makes the balance-manager ready. Pure (time is passed in).

Balances are current while the WS feed is synced (every change arrives as it happens). Without it they are
as old as the later of the last REST reconcile and the moment the feed was lost. Ready = reconciled at
least once, and no older than the bound.
"""

from __future__ import annotations

from tradingbot_components.runtime import CheckResult, HealthStatus


def balance_age(
    now: float, *, reconciled_at: float | None, feed_synced: bool, feed_lost_at: float | None
) -> float | None:
    """Seconds since the balances were last known to be right; None before the first reconcile."""
    if reconciled_at is None:
        return None
    if feed_synced:
        return 0.0
    as_of = max(reconciled_at, feed_lost_at if feed_lost_at is not None else reconciled_at)
    return max(0.0, now - as_of)


def balances_health(
    now: float,
    *,
    reconciled_at: float | None,
    feed_synced: bool,
    feed_lost_at: float | None,
    max_age: float,
    last_error: str | None = None,
) -> CheckResult:
    """The critical `balances` check behind `/readyz`."""
    age = balance_age(now, reconciled_at=reconciled_at, feed_synced=feed_synced, feed_lost_at=feed_lost_at)
    if age is None:
        why = f": {last_error}" if last_error else ""
        return CheckResult(HealthStatus.UNKNOWN, f"balances not reconciled with REST BalanceEx yet{why}")
    details = {"age": round(age, 3), "max_age": max_age, "feed_synced": feed_synced}
    if age > max_age:
        feed = "the WS feed is down" if not feed_synced else "the WS feed is synced"
        why = f"; last reconcile error: {last_error}" if last_error else ""
        return CheckResult(
            HealthStatus.UNHEALTHY,
            f"balances are {age:.1f}s old (bound {max_age:g}s): {feed} and no REST reconcile since{why}",
            details,
        )
    return CheckResult(HealthStatus.HEALTHY, details=details)
