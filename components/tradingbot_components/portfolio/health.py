"""What the portfolio's health entries say, as pure functions of its state: the positions (rebuilt from
storage, every fill applied), the executions feed (synced, its snapshot recorded) and the valuation (which
pairs have no market price). The component pushes and polls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from tradingbot_components.runtime import CheckResult, HealthStatus


def positions_health(
    *,
    rebuilt_from: int | None,
    fills: int,
    refused: int,
    unvalued_fees: Mapping[str, Decimal],
    possible_gap: str | None = None,
) -> CheckResult:
    """Unknown until rebuilt; Degraded (still ready) when a fill was refused by storage, a fee could not be
    valued or fills may have been missed, since the positions or the P&L are then incomplete."""
    if rebuilt_from is None:
        return CheckResult(HealthStatus.UNKNOWN, "positions not rebuilt from storage yet")
    problems = [] if possible_gap is None else [possible_gap]
    if refused:
        problems.append(f"{refused} fill(s) refused by storage and not applied (see portfolio.recorder)")
    if unvalued_fees:
        assets = ", ".join(f"{fee} {asset}" for asset, fee in sorted(unvalued_fees.items()))
        problems.append(f"fees charged in other assets are not in the P&L: {assets}")
    details = {"fills": fills, "rebuilt_from_fills": rebuilt_from}
    if problems:
        return CheckResult(HealthStatus.DEGRADED, "; ".join(problems), details)
    return CheckResult(HealthStatus.HEALTHY, f"{fills} fill(s) applied", details)


def feed_health(
    *,
    connected: bool,
    synced: bool,
    recorded: int,
    sync_mark: int | None,
    waiting_for_storage: bool,
    last_error: str | None,
    url: str,
) -> CheckResult:
    """Healthy once subscribed and every fill of the latest snapshot is stored and applied."""
    if not connected:
        if last_error is None:
            return CheckResult(HealthStatus.UNKNOWN, f"connecting to {url}")
        return CheckResult(
            HealthStatus.UNHEALTHY, f"executions feed not connected ({last_error}); reconnecting"
        )
    if not synced or sync_mark is None:
        return CheckResult(HealthStatus.UNKNOWN, "subscribed; waiting for the executions snapshot")
    if recorded < sync_mark:
        left = sync_mark - recorded
        if waiting_for_storage:
            return CheckResult(
                HealthStatus.UNHEALTHY, f"{left} fill(s) of the snapshot wait for storage to accept them"
            )
        return CheckResult(HealthStatus.UNKNOWN, f"recording the snapshot's fills: {left} left")
    return CheckResult(HealthStatus.HEALTHY)


def valuation_health(unpriced: Sequence[str], *, connected: bool, started: bool = True) -> CheckResult:
    """Degraded while a shown pair has no market price (its market_price and unrealized_pnl are null);
    Unknown until market data has sent anything at all (no alert for the first second of every start)."""
    if not unpriced:
        return CheckResult(HealthStatus.HEALTHY)
    why = "" if connected else " (market data stream not connected)"
    if not started:
        return CheckResult(
            HealthStatus.UNKNOWN,
            f"waiting for the first quotes{why}: market_price and unrealized_pnl are null until then",
        )
    return CheckResult(
        HealthStatus.DEGRADED,
        f"no market quote for {', '.join(unpriced)}{why}: market_price and unrealized_pnl are null",
    )
