"""Whether the simulated exchange lets a call in, decided the way Kraken does: the key, the signature,
the per-key nonce, the tier's REST counter, and the per-pair trading counter with order-age penalties.

Decisions read and update the account's counters but do no I/O; each answers with Kraken's exact error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradingbot_components.exchange_sim.accounts import Account
from tradingbot_components.exchange_sim.rate_limits import (
    REST_RULES,
    TRADING_RULES,
    OrderAction,
    RateCounter,
    Tier,
    rest_cost,
    trading_cost,
)
from tradingbot_components.exchange_sim.signatures import body_nonce, signature_matches
from tradingbot_components.kraken.errors import KrakenError
from tradingbot_components.kraken.signing import BodyFormat

__all__ = [
    "Admitted",
    "Refused",
    "accept_nonce",
    "authenticate",
    "charge_rest",
    "charge_trading",
    "new_rest_counter",
    "rest_cost",
    "trading_counter",
]


@dataclass(frozen=True, slots=True)
class Admitted:
    account: Account
    nonce: int


@dataclass(frozen=True, slots=True)
class Refused:
    error: KrakenError


def authenticate(
    accounts: Mapping[str, Account],
    *,
    api_key: str | None,
    api_sign: str | None,
    url_path: str,
    body: str,
    body_format: BodyFormat,
    nonce_window: int = 0,
) -> Admitted | Refused:
    """Key, then signature, then nonce: the account and the accepted nonce, or the refusal.

    A nonce must exceed the last accepted one for the key (minus `nonce_window`, Kraken's per-key
    tolerance for requests that arrive out of order); one nonce is never accepted twice.
    """
    account = accounts.get(api_key or "")
    if account is None:
        return Refused(KrakenError.INVALID_KEY)
    try:
        nonce = body_nonce(body, is_json=body_format is BodyFormat.JSON)
    except ValueError:
        return Refused(KrakenError.INVALID_NONCE)
    if not api_sign:
        return Refused(KrakenError.INVALID_SIGNATURE)
    try:
        valid = signature_matches(url_path, nonce, body, account.secret, api_sign)
    except ValueError:
        valid = False
    if not valid:
        return Refused(KrakenError.INVALID_SIGNATURE)
    if not accept_nonce(account, nonce, nonce_window):
        return Refused(KrakenError.INVALID_NONCE)
    return Admitted(account, nonce)


def accept_nonce(account: Account, nonce: int, window: int = 0) -> bool:
    """Record `nonce` if Kraken would accept it for this key."""
    if nonce in account.recent_nonces or nonce <= account.last_nonce - window:
        return False
    account.last_nonce = max(account.last_nonce, nonce)
    if window:
        floor = account.last_nonce - window
        account.recent_nonces = {n for n in account.recent_nonces if n > floor}
        account.recent_nonces.add(nonce)
    return True


def charge_rest(account: Account, method: str, now: float) -> Refused | None:
    """Charge the REST counter; a call over the cap is refused and leaves the counter full, so a client
    that keeps calling stays blocked (Kraken: "longer if the client keeps calling")."""
    cost = rest_cost(method)
    if cost == 0:
        return None
    if account.rest_counter.admit(cost, now):
        return None
    account.rest_counter.saturate(now)
    return Refused(KrakenError.RATE_LIMIT_EXCEEDED)


def new_rest_counter(tier: Tier, now: float) -> RateCounter:
    return RateCounter(REST_RULES[tier], now)


def trading_counter(account: Account, pair_id: str, tier: Tier, now: float) -> RateCounter:
    counter = account.trading_counters.get(pair_id)
    if counter is None:
        counter = account.trading_counters[pair_id] = RateCounter(TRADING_RULES[tier], now)
    return counter


def charge_trading(
    account: Account,
    pair_id: str,
    tier: Tier,
    action: OrderAction,
    now: float,
    resting_seconds: float = 0.0,
) -> Refused | None:
    """Charge one order action to the pair's counter (fixed count plus the resting-time count)."""
    cost = trading_cost(action, resting_seconds)
    if cost == 0:
        return None
    counter = trading_counter(account, pair_id, tier, now)
    if counter.admit(cost, now):
        return None
    return Refused(KrakenError.ORDER_RATE_LIMIT_EXCEEDED)
