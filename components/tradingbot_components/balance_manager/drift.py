"""Drift: where the balances kept from the WebSocket feed disagree with what REST `BalanceEx` says, by
more than dust. Pure: the comparison, and the words and health the disagreement is reported with.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from tradingbot_components.runtime import CheckResult, HealthStatus


class Figure(enum.StrEnum):
    """Which number of an asset is compared."""

    TOTAL = "total"  # the balance (WS balances channel vs BalanceEx.balance)
    HELD = "held"  # held by open orders (computed from executions vs BalanceEx.hold_trade)


@dataclass(frozen=True, slots=True)
class Mismatch:
    asset: str
    figure: Figure
    ours: Decimal
    exchange: Decimal

    @property
    def difference(self) -> Decimal:
        """Exchange minus ours: positive when the exchange says there is more."""
        return self.exchange - self.ours

    def describe(self) -> str:
        return (
            f"{self.asset} {self.figure} ours {self.ours} vs exchange {self.exchange} ({self.difference:+})"
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "asset": self.asset,
            "figure": str(self.figure),
            "ours": format(self.ours, "f"),
            "exchange": format(self.exchange, "f"),
            "difference": format(self.difference, "f"),
        }


def differences(
    ours: Mapping[str, Decimal], exchange: Mapping[str, Decimal], assets: Iterable[str]
) -> dict[str, Decimal]:
    """Exchange minus ours for each of `assets` (an asset missing on one side counts as zero there)."""
    zero = Decimal(0)
    return {asset: exchange.get(asset, zero) - ours.get(asset, zero) for asset in assets}


def compare(
    ours: Mapping[str, Decimal],
    exchange: Mapping[str, Decimal],
    assets: Iterable[str],
    *,
    figure: Figure,
    dust: Decimal,
) -> list[Mismatch]:
    """The assets (of `assets`) whose two figures differ by more than `dust`, sorted by asset."""
    zero = Decimal(0)
    found = []
    for asset in sorted(set(assets)):
        mine, theirs = ours.get(asset, zero), exchange.get(asset, zero)
        if abs(theirs - mine) > dust:
            found.append(Mismatch(asset, figure, mine, theirs))
    return found


def describe_drift(mismatches: Iterable[Mismatch]) -> str:
    return "; ".join(m.describe() for m in mismatches)


def drift_health(last_drift: Iterable[Mismatch] | None, dust: Decimal) -> CheckResult:
    """The non-critical `balance-drift` health: Degraded (an alert) while the latest confirmed comparison
    found totals that disagree beyond dust; Healthy once a comparison agrees again."""
    if last_drift is None:
        return CheckResult(HealthStatus.HEALTHY, "not compared yet (the WS feed was not live at a reconcile)")
    totals = [m for m in last_drift if m.figure is Figure.TOTAL]
    if not totals:
        return CheckResult(HealthStatus.HEALTHY)
    return CheckResult(
        HealthStatus.DEGRADED,
        f"WS and REST balances disagree beyond dust {dust}: {describe_drift(totals)}; REST adopted",
        {"drift": [m.to_dict() for m in totals]},
    )
