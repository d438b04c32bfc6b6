"""Fixtures for the simulator's unit tests: a small seeded exchange with one funded account."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from tradingbot_components.exchange_sim.accounts import Account, Credentials
from tradingbot_components.exchange_sim.admission import new_rest_counter
from tradingbot_components.exchange_sim.catalog import Catalog
from tradingbot_components.exchange_sim.engine import ClOrdIdScope, Engine
from tradingbot_components.exchange_sim.market import MarketParams, SimulatedMarket
from tradingbot_components.exchange_sim.rate_limits import Tier
from tradingbot_components.exchange_sim.tape import Tape

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NOW = 1_700_000_000.0


def make_engine(
    pairs: tuple[str, ...] = ("XBT/USD",),
    *,
    tier: Tier = Tier.STARTER,
    scope: ClOrdIdScope = ClOrdIdScope.OPEN,
    seed: int = 1,
    levels: int = 200,
) -> Engine:
    catalog = Catalog.from_config(pairs)
    markets = {
        p.id: SimulatedMarket(p, random.Random(f"{seed}:{p.id}"), MarketParams(levels=levels))
        for p in catalog.pairs.values()
    }
    tapes = {p.id: Tape(p, NOW, random.Random(seed), history_minutes=30) for p in catalog.pairs.values()}
    engine = Engine(catalog, markets, tapes, tier=tier, rng=random.Random(seed), cl_ord_id_scope=scope)
    balances = {"ZUSD": Decimal(100000), "XXBT": Decimal(10), "XETH": Decimal(100)}
    engine.accounts["key"] = Account(Credentials("key", SECRET), balances, new_rest_counter(tier, NOW))
    return engine


@pytest.fixture
def engine() -> Engine:
    return make_engine()


@pytest.fixture
def account(engine: Engine) -> Account:
    return engine.accounts["key"]
