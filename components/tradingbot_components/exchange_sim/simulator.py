"""One simulated exchange: the catalog, a market and a tape per pair, the matching engine with its
accounts, WebSocket tokens, faults and stats. The REST and WS layers share this object.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tradingbot_components.exchange_sim.accounts import Account, Credentials
from tradingbot_components.exchange_sim.admission import charge_trading, new_rest_counter
from tradingbot_components.exchange_sim.catalog import Catalog, asset_for
from tradingbot_components.exchange_sim.engine import Engine
from tradingbot_components.exchange_sim.faults import FaultState
from tradingbot_components.exchange_sim.market import MarketParams, SimulatedMarket
from tradingbot_components.exchange_sim.orders import Order, OrderRejected, OrderRequest
from tradingbot_components.exchange_sim.rate_limits import OrderAction, Tier
from tradingbot_components.exchange_sim.settings import SimSettings
from tradingbot_components.exchange_sim.stats import SimStats
from tradingbot_components.exchange_sim.tape import Tape

TOKEN_TTL = 900.0  # GetWebSocketsToken: use within 15 minutes


@dataclass(slots=True)
class Token:
    account: str
    expires_at: float


class Simulator:
    def __init__(
        self,
        *,
        pairs: Sequence[str],
        tier: Tier,
        settings: SimSettings,
        credentials: Sequence[Credentials],
        now: float,
    ) -> None:
        self.settings = settings
        self.tier = tier
        self.catalog = Catalog.from_config(pairs)
        seed = settings.seed
        params = MarketParams(levels=settings.book_levels, volatility=settings.volatility)
        # One generator per pair (seeded by name), so adding a pair does not change another's path.
        markets = {
            pair.id: SimulatedMarket(pair, random.Random(f"{seed}:market:{pair.id}"), params)
            for pair in self.catalog.pairs.values()
        }
        tapes = {
            pair.id: Tape(pair, now, random.Random(f"{seed}:history:{pair.id}"))
            for pair in self.catalog.pairs.values()
        }
        self.engine = Engine(
            self.catalog,
            markets,
            tapes,
            tier=tier,
            # Order and trade ids are not seeded: a restarted simulator must never reuse a txid.
            rng=random.Random(secrets.randbits(64)),
            fees=settings.fees,
            cl_ord_id_scope=settings.cl_ord_id_scope,
        )
        balances = {asset_for(name).id: amount for name, amount in settings.balances.items()}
        for credential in credentials:
            self.engine.accounts[credential.api_key] = Account(
                credential, dict(balances), new_rest_counter(tier, now)
            )
        self.faults = FaultState()
        self.stats = SimStats()
        self.tokens: dict[str, Token] = {}
        self.started_at = now
        self.last_step = now

    @property
    def accounts(self) -> dict[str, Account]:
        return self.engine.accounts

    def step(self, now: float) -> None:
        self.engine.step(now)
        self.stats.market_steps += 1
        self.last_step = now
        self.tokens = {t: v for t, v in self.tokens.items() if v.expires_at > now}

    def place(
        self, account: Account, parse: Callable[[], OrderRequest], pair_name: str, now: float
    ) -> tuple[OrderRequest, Order | None]:
        """AddOrder for REST and WS alike: parse, charge, place, count; raises `OrderRejected`.

        A request that fails validation still costs the pair's fixed add cost, as on Kraken.
        """
        pair = self.catalog.pair(pair_name)
        try:
            request = parse()
        except OrderRejected:
            if pair is not None:
                charge_trading(account, pair.id, self.tier, OrderAction.ADD, now)
            self.stats.orders["rejected"] += 1
            raise
        try:
            order = self.engine.add_order(account, request, now)
        except OrderRejected:
            self.stats.orders["rejected"] += 1
            raise
        self.stats.orders["validated" if order is None else "placed"] += 1
        return request, order

    def issue_token(self, account: Account, now: float) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = Token(account.key, now + TOKEN_TTL)
        return token

    def account_for_token(self, token: Any, now: float) -> Account | None:
        entry = self.tokens.get(token) if isinstance(token, str) else None
        if entry is None or entry.expires_at <= now:
            return None
        return self.accounts.get(entry.account)

    def describe(self) -> dict[str, Any]:
        """For `/healthz`: no secrets, no keys."""
        return {
            "pairs": sorted(self.catalog.pairs),
            "tier": self.tier.value,
            "accounts": len(self.accounts),
            "seed": self.settings.seed,
            "market_steps": self.stats.market_steps,
        }
