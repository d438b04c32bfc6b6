"""The balance-manager's non-critical health entries: the private feed (its outage is survivable on REST
reconciles, so Degraded, not Unhealthy) and the snapshot writer. Pure."""

from __future__ import annotations

from tradingbot_components.runtime import CheckResult, HealthStatus


def feed_health(
    *, synced: bool, connected: bool, connects: int, last_error: str | None, url: str
) -> CheckResult:
    """`balances-feed`: Healthy while synced, Unknown until the first attempt ends, else Degraded saying why."""
    if synced:
        return CheckResult(HealthStatus.HEALTHY)
    if connects == 0 and last_error is None:
        return CheckResult(HealthStatus.UNKNOWN, f"connecting to {url}")
    why = f": {last_error}" if last_error else ""
    state = "connected, waiting for snapshots" if connected else f"not connected to {url}"
    return CheckResult(HealthStatus.DEGRADED, f"{state}{why}; balances from REST reconciles only")


def snapshots_health(failures_in_a_row: int, last_error: str | None) -> CheckResult:
    """`balance-snapshots`: Degraded while writes to storage keep failing (they are retried)."""
    if not failures_in_a_row:
        return CheckResult(HealthStatus.HEALTHY)
    return CheckResult(
        HealthStatus.DEGRADED,
        f"{failures_in_a_row} balance snapshot write(s) failed in a row: {last_error}",
    )
