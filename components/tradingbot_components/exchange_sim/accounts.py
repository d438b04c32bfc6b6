"""Simulated accounts: the API key and secret (read from the credentials directory the way Kraken issues
them), balances, orders, fills, and the per-key state Kraken keeps (nonce high-water mark, counters).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tradingbot_components.exchange_sim.orders import Fill, Order
from tradingbot_components.exchange_sim.rate_limits import RateCounter

KEY_FILE = "api-key"
SECRET_FILE = "api-secret"


class CredentialsError(ValueError):
    """The credentials directory cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: str  # base64, as Kraken shows it

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(api_key={self.api_key[:6]}...)"


def load_credentials(directory: Path) -> Credentials:
    """`api-key` and `api-secret` from `directory`; the secret must be valid base64."""
    values: dict[str, str] = {}
    for name in (KEY_FILE, SECRET_FILE):
        path = directory / name
        try:
            values[name] = path.read_text().strip()
        except OSError as exc:
            raise CredentialsError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if not values[name]:
            raise CredentialsError(f"{path}: empty")
    try:
        base64.b64decode(values[SECRET_FILE], validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(
            f"{directory / SECRET_FILE}: not valid base64 (copy the private key exactly as Kraken shows it)"
        ) from None
    return Credentials(values[KEY_FILE], values[SECRET_FILE])


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One balance change, the WS v2 `balances` update shape."""

    ledger_id: str
    ref_id: str
    time: float
    type: str
    asset: str  # Kraken id
    amount: Decimal
    fee: Decimal
    balance: Decimal


@dataclass
class Account:
    """One API key's account on the simulated exchange."""

    credentials: Credentials
    balances: dict[str, Decimal]
    rest_counter: RateCounter
    orders: dict[str, Order] = field(default_factory=dict)  # every order by txid, in creation order
    open: dict[str, Order] = field(default_factory=dict)  # open orders by txid
    fills: list[Fill] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    trading_counters: dict[str, RateCounter] = field(default_factory=dict)  # by pair id
    last_nonce: int = 0
    recent_nonces: set[int] = field(default_factory=set)  # within the nonce window
    dead_man_at: float | None = None

    @property
    def key(self) -> str:
        return self.credentials.api_key

    @property
    def secret(self) -> str:
        return self.credentials.api_secret

    def balance(self, asset_id: str) -> Decimal:
        return self.balances.get(asset_id, Decimal(0))

    def open_for(self, pair_id: str) -> list[Order]:
        return [order for order in self.open.values() if order.pair.id == pair_id]

    def by_cl_ord_id(self, cl_ord_id: str, *, open_only: bool) -> Order | None:
        pool = self.open.values() if open_only else self.orders.values()
        return next((order for order in pool if order.request.cl_ord_id == cl_ord_id), None)
