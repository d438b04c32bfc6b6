"""The simulator's own knobs, read from `TRADINGBOT_SIM_*` environment variables (the bot config
document has no simulator section; tier and pairs come from `rate_limiting.tier` and `trading.pairs`).

| Variable | Default | Meaning |
|---|---|---|
| `TRADINGBOT_SIM_SEED` | random | seed of the simulated market and of ids |
| `TRADINGBOT_SIM_BALANCES` | `USD=100000,XBT=10,ETH=100` | starting balances (any asset spelling) |
| `TRADINGBOT_SIM_TICK_SECONDS` | `0.25` | seconds between market steps |
| `TRADINGBOT_SIM_VOLATILITY` | `0.00003` | relative standard deviation of one step |
| `TRADINGBOT_SIM_BOOK_LEVELS` | `1000` | resting levels per side |
| `TRADINGBOT_SIM_NONCE_WINDOW` | `0` | Kraken's per-key nonce window |
| `TRADINGBOT_SIM_CL_ORD_ID_SCOPE` | `open` | `open` (Kraken) or `all`: which orders a cl_ord_id must not repeat |
| `TRADINGBOT_SIM_FEES` | `0.25,0.40` | maker,taker fee in percent |
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from tradingbot_components.exchange_sim.engine import ClOrdIdScope, Fees

PREFIX = "TRADINGBOT_SIM_"
DEFAULT_BALANCES = "USD=100000,XBT=10,ETH=100"


class SettingsError(ValueError):
    """A `TRADINGBOT_SIM_*` variable with a bad value; names the variable."""


@dataclass(frozen=True, slots=True)
class SimSettings:
    seed: int
    balances: Mapping[str, Decimal]  # by any asset spelling, resolved against the catalog later
    tick_seconds: float = 0.25
    volatility: float = 0.00003
    book_levels: int = 1000
    nonce_window: int = 0
    cl_ord_id_scope: ClOrdIdScope = ClOrdIdScope.OPEN
    fees: Fees = field(default_factory=Fees)


def _parse_balances(text: str, variable: str) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, amount = item.partition("=")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal(-1)
        if not sep or not name.strip() or not value.is_finite() or value < 0:
            raise SettingsError(f"{variable}: expected ASSET=AMOUNT[,ASSET=AMOUNT...], got {item.strip()!r}")
        balances[name.strip().upper()] = value
    return balances


def _number(environ: Mapping[str, str], name: str, default: float, kind: type = float) -> float:
    variable = PREFIX + name
    raw = environ.get(variable)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{variable}: expected a {kind.__name__}, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{variable}: must be >= 0, got {raw!r}")
    return float(value)


def read_settings(environ: Mapping[str, str]) -> SimSettings:
    """All settings from the environment; raises `SettingsError` naming the first bad variable."""
    seed_text = environ.get(PREFIX + "SEED", "").strip()
    try:
        seed = int(seed_text) if seed_text else random.SystemRandom().randrange(2**63)
    except ValueError:
        raise SettingsError(f"{PREFIX}SEED: expected an integer, got {seed_text!r}") from None
    fees_text = environ.get(PREFIX + "FEES", "").strip()
    fees = Fees()
    if fees_text:
        maker, _, taker = fees_text.partition(",")
        try:
            fees = Fees(Decimal(maker) / 100, Decimal(taker) / 100)
        except InvalidOperation:
            raise SettingsError(f"{PREFIX}FEES: expected MAKER,TAKER in percent, got {fees_text!r}") from None
    scope_text = environ.get(PREFIX + "CL_ORD_ID_SCOPE", "open").strip().lower()
    try:
        scope = ClOrdIdScope(scope_text)
    except ValueError:
        raise SettingsError(f"{PREFIX}CL_ORD_ID_SCOPE: expected open or all, got {scope_text!r}") from None
    tick = _number(environ, "TICK_SECONDS", 0.25)
    if tick <= 0:
        raise SettingsError(f"{PREFIX}TICK_SECONDS: must be > 0")
    levels = int(_number(environ, "BOOK_LEVELS", 1000, int))
    if levels < 10:
        raise SettingsError(f"{PREFIX}BOOK_LEVELS: must be >= 10 (the checksum covers 10 levels)")
    return SimSettings(
        seed=seed,
        balances=_parse_balances(environ.get(PREFIX + "BALANCES", DEFAULT_BALANCES), PREFIX + "BALANCES"),
        tick_seconds=tick,
        volatility=_number(environ, "VOLATILITY", 0.00003),
        book_levels=levels,
        nonce_window=int(_number(environ, "NONCE_WINDOW", 0, int)),
        cl_ord_id_scope=scope,
        fees=fees,
    )
