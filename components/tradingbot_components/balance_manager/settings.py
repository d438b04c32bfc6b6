"""The balance-manager's process settings outside the bot config (`TRADINGBOT_BALANCE_MANAGER_<NAME>`),
read and validated all at once. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal

from tradingbot_components.config.process_settings import read_process_settings

ENV_PREFIX = "TRADINGBOT_BALANCE_MANAGER_"


@dataclass(frozen=True, slots=True)
class BalanceManagerSettings:
    """Seconds unless said otherwise; each can be set as `TRADINGBOT_BALANCE_MANAGER_<NAME>`."""

    reconcile_interval: float = 60.0  # between periodic REST BalanceEx reconciles
    max_age: float = 180.0  # readiness bound: balances older than this (feed down, no reconcile) are stale
    dust: Decimal = Decimal("0.00001")  # WS and REST may differ by this much (in each asset's units)
    snapshot_interval: float = 5.0  # WS-driven snapshots are written to storage at most this often
    confirm_delay: float = 1.0  # a mismatch is read again after this long before it counts as drift

    def to_dict(self) -> dict[str, float | str]:
        return {
            f.name: format(v, "f") if isinstance(v := getattr(self, f.name), Decimal) else v
            for f in fields(self)
        }


def read_balance_manager_settings(environ: Mapping[str, str]) -> BalanceManagerSettings:
    """Settings with environment overrides; raises ValueError as `VARIABLE: reason`."""
    settings = read_process_settings(BalanceManagerSettings, ENV_PREFIX, environ)
    if settings.max_age <= settings.reconcile_interval:
        raise ValueError(
            f"{ENV_PREFIX}MAX_AGE: must be longer than {ENV_PREFIX}RECONCILE_INTERVAL "
            f"({settings.max_age:g} s <= {settings.reconcile_interval:g} s), or balances go stale between "
            "reconciles whenever the WebSocket feed is down"
        )
    if settings.confirm_delay >= settings.reconcile_interval:
        raise ValueError(
            f"{ENV_PREFIX}CONFIRM_DELAY: must be shorter than {ENV_PREFIX}RECONCILE_INTERVAL "
            f"({settings.confirm_delay:g} s >= {settings.reconcile_interval:g} s)"
        )
    return settings
