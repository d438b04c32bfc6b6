"""What balance-manager serves on `GET /balances`, as typed values, and its client.

    {"balances": {"ZUSD": {"total": "100000.0000", "available": "99000.0000", "held": "1000.0000"}},
     "reconciled_at": 1764370000.25, "source": "ws" | "rest"}

Asset names are Kraken's as `BalanceEx` returns them (`ZUSD`, `XXBT`); amounts are decimal strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingbot_components.clients.base import JsonService


@dataclass(frozen=True, slots=True)
class AssetBalance:
    total: Decimal
    held: Decimal = Decimal(0)

    @property
    def available(self) -> Decimal:
        return self.total - self.held

    def to_dict(self) -> dict[str, str]:
        return {"total": _plain(self.total), "available": _plain(self.available), "held": _plain(self.held)}


@dataclass(frozen=True, slots=True)
class Balances:
    assets: Mapping[str, AssetBalance]
    reconciled_at: float | None = None
    source: str = "rest"

    def available(self, asset: str) -> Decimal:
        balance = self.assets.get(asset)
        return balance.available if balance is not None else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "balances": {asset: balance.to_dict() for asset, balance in sorted(self.assets.items())},
            "reconciled_at": self.reconciled_at,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Balances:
        assets = {
            str(asset): AssetBalance(Decimal(str(entry["total"])), Decimal(str(entry.get("held", "0"))))
            for asset, entry in (document.get("balances") or {}).items()
        }
        reconciled = document.get("reconciled_at")
        return cls(assets, float(reconciled) if reconciled is not None else None, str(document.get("source")))


def _plain(amount: Decimal) -> str:
    """Decimal text without an exponent: `0.0000000000`, never `0E-10`."""
    return format(amount, "f")


class BalanceManagerClient(JsonService):
    """HTTP client of `endpoints.balance_manager`."""

    service = "balance-manager"

    async def balances(self) -> Balances:
        return Balances.from_dict(await self.call("GET", "/balances"))
