"""The simulated market: seeded and reproducible, a sane book at the pair's precision, trades through
crossed levels, and taker sweeps that take exactly what is there."""

from __future__ import annotations

import random

from tradingbot_components.exchange_sim.catalog import Catalog
from tradingbot_components.exchange_sim.market import MarketParams, Side, SimulatedMarket

PAIR = Catalog.from_config(["XBT/USD"]).pair("XBT/USD")


def market(seed: int = 3, levels: int = 100) -> SimulatedMarket:
    assert PAIR is not None
    return SimulatedMarket(PAIR, random.Random(seed), MarketParams(levels=levels))


def test_the_same_seed_gives_the_same_market() -> None:
    a, b = market(11), market(11)
    for _ in range(50):
        a.step()
        b.step()
    assert a.fair == b.fair
    assert a.bids.top(20) == b.bids.top(20) and a.asks.top(20) == b.asks.top(20)
    assert market(12).bids.top(5) != market(11).bids.top(5)


def test_the_book_is_uncrossed_around_the_fair_price_and_full() -> None:
    m = market(levels=100)
    for _ in range(200):
        m.step()
        bid, ask = m.best_bid(), m.best_ask()
        assert bid is not None and ask is not None
        assert bid < m.fair < ask
        assert len(m.bids) == 100 and len(m.asks) == 100
        prices = m.bids.prices()
        assert prices == sorted(prices, reverse=True)
        assert all(lots > 0 for _, lots in m.asks.top())


def test_moving_through_levels_trades_them_and_fills_resting_user_quantity() -> None:
    m = market()
    ask = m.best_ask()
    assert ask is not None
    m.asks.add_user(ask + 1, 5)  # a resting user sell just above the touch
    consumed = m.move_to(ask + 2)
    ticks = [c.ticks for c in consumed]
    assert ask in ticks and ask + 1 in ticks
    user = [c for c in consumed if c.user_lots]
    assert user and user[0].side is Side.SELL and user[0].user_lots == 5
    assert (m.best_ask() or 0) > m.fair


def test_a_sweep_takes_levels_in_price_order_up_to_the_limit() -> None:
    m = market()
    top = m.asks.top(3)
    wanted = top[0][1] + top[1][1] // 2
    preview = m.sweep(Side.BUY, wanted, None, take=False)
    assert m.asks.top(3) == top  # a preview changes nothing
    fills = m.sweep(Side.BUY, wanted, None)
    assert fills == preview == [(top[0][0], top[0][1]), (top[1][0], top[1][1] // 2)]
    assert m.best_ask() == top[1][0]
    assert m.sweep(Side.BUY, 10**12, limit=top[1][0] - 1) == []


def test_user_quantity_is_never_swept_by_the_same_account() -> None:
    m = market()
    ask = m.best_ask()
    assert ask is not None
    m.asks.set_sim(ask, 0)
    m.asks.add_user(ask, 7)
    fills = m.sweep(Side.BUY, 1, None)
    assert fills and fills[0][0] != ask
    assert m.asks.total(ask) == 7
