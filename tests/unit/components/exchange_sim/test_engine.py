"""The matching engine: fills and fees against the simulated book, funds held by open orders, Kraken's
rejections, idempotent cl_ord_id, resting orders filled by the market, expiry and the dead man's switch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.components.exchange_sim.conftest import NOW, make_engine
from tradingbot_components.exchange_sim.accounts import Account
from tradingbot_components.exchange_sim.engine import DUPLICATE_ORDER, ClOrdIdScope, Engine, OrderEvent
from tradingbot_components.exchange_sim.market import Side
from tradingbot_components.exchange_sim.orders import (
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)


def request(
    engine: Engine, side: str = "buy", volume: str = "0.01", price: str | None = None, **extra: object
) -> OrderRequest:
    pair = engine.catalog.pair("XBT/USD")
    assert pair is not None
    return OrderRequest(
        pair=pair,
        side=Side(side),
        ordertype=OrderType.LIMIT if price else OrderType.MARKET,
        volume=Decimal(volume),
        price=Decimal(price) if price else None,
        **extra,  # type: ignore[arg-type]
    )


def touch(engine: Engine) -> tuple[Decimal, Decimal]:
    market = next(iter(engine.markets.values()))
    pair = market.pair
    return pair.price(market.best_bid() or 0), pair.price(market.best_ask() or 0)


def test_a_market_buy_fills_at_the_book_and_pays_the_taker_fee(engine: Engine, account: Account) -> None:
    events: list[object] = []
    engine.listeners.append(events.append)
    order = engine.add_order(account, request(engine, volume="0.01"), NOW)
    assert order is not None and order.status is OrderStatus.CLOSED
    assert order.vol_exec == Decimal("0.01")
    assert order.fee == (order.cost * Decimal("0.004")).quantize(Decimal("0.0001"))
    assert account.balance("XXBT") == Decimal("10.01")
    assert account.balance("ZUSD") == Decimal(100000) - order.cost - order.fee
    kinds = [e.exec_type for e in events if isinstance(e, OrderEvent)]
    trades = len(order.trades)
    assert kinds == ["pending_new", "new", *["trade"] * trades, "filled"]


def test_a_limit_below_the_market_rests_and_holds_quote(engine: Engine, account: Account) -> None:
    bid, _ = touch(engine)
    price = bid - 100
    order = engine.add_order(account, request(engine, volume="0.5", price=str(price)), NOW)
    assert order is not None and order.status is OrderStatus.OPEN and order.txid in account.open
    assert engine.held(account, "ZUSD") == Decimal("0.5") * price * Decimal("1.004")
    market = engine.markets[order.pair.id]
    assert market.bids.user[order.pair.to_ticks(price)] == order.pair.to_lots(Decimal("0.5"))


def test_a_resting_order_fills_as_maker_when_the_market_trades_through(
    engine: Engine, account: Account
) -> None:
    bid, _ = touch(engine)
    price = bid - 50
    order = engine.add_order(account, request(engine, volume="0.1", price=str(price)), NOW)
    assert order is not None
    engine.move_market(order.pair, price - 1, NOW + 1)
    assert order.status is OrderStatus.CLOSED
    assert account.fills[-1].maker and account.fills[-1].price == price
    assert order.fee == (price * Decimal("0.1") * Decimal("0.0025")).quantize(Decimal("0.0001"))
    assert engine.held(account, "ZUSD") == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"volume": "1000"}, "EOrder:Insufficient funds"),
        ({"side": "sell", "volume": "11"}, "EOrder:Insufficient funds"),
        ({"price": "70000.0", "post_only": True}, "EOrder:Post only order"),
    ],
)
def test_rejections(engine: Engine, account: Account, kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(OrderRejected) as raised:
        engine.add_order(account, request(engine, **kwargs), NOW)  # type: ignore[arg-type]
    assert raised.value.error == error
    assert not account.open


def test_validate_checks_everything_but_places_nothing(engine: Engine, account: Account) -> None:
    assert engine.add_order(account, request(engine, price="50000.0", validate=True), NOW) is None
    assert not account.orders
    with pytest.raises(OrderRejected, match="Insufficient funds"):
        engine.add_order(account, request(engine, volume="1000", validate=True), NOW)


def test_a_repeated_cl_ord_id_never_makes_a_second_open_order(engine: Engine, account: Account) -> None:
    first = engine.add_order(account, request(engine, price="50000.0", cl_ord_id="retry-1"), NOW)
    with pytest.raises(OrderRejected) as raised:
        engine.add_order(account, request(engine, price="50000.0", cl_ord_id="retry-1"), NOW + 1)
    assert raised.value.error == DUPLICATE_ORDER
    assert list(account.open) == [first.txid if first else ""]
    # Kraken: unique among open orders, so after a cancel the id may be used again.
    assert first is not None
    engine.cancel(account, [first], NOW + 100)
    assert engine.add_order(account, request(engine, price="50000.0", cl_ord_id="retry-1"), NOW + 101)


def test_with_scope_all_a_filled_order_id_is_never_reused() -> None:
    engine = make_engine(scope=ClOrdIdScope.ALL)
    account = engine.accounts["key"]
    filled = engine.add_order(account, request(engine, cl_ord_id="once"), NOW)
    assert filled is not None and filled.status is OrderStatus.CLOSED
    with pytest.raises(OrderRejected, match="Duplicate order"):
        engine.add_order(account, request(engine, cl_ord_id="once"), NOW + 1)
    assert len(account.orders) == 1


def test_cancelling_young_orders_costs_more_until_the_pair_counter_refuses(
    engine: Engine, account: Account
) -> None:
    # Starter: 60 points, 1/s decay. Each add is +1; cancelling an order younger than 5 s is +8.
    placed = [engine.add_order(account, request(engine, price="50000.0"), NOW) for _ in range(7)]
    cancelled = 0
    with pytest.raises(OrderRejected) as raised:
        for order in placed:
            assert order is not None
            engine.cancel(account, [order], NOW)
            cancelled += 1
    assert raised.value.error == "EOrder:Rate limit exceeded"
    assert cancelled == 6  # 7 + 6 * 8 = 55; the seventh cancel would make 63
    # An order older than 300 s costs nothing to cancel, and the counter has decayed by then.
    engine.cancel(account, list(account.open.values()), NOW + 400)
    assert not account.open


def test_the_open_orders_limit_per_pair() -> None:
    engine = make_engine()
    account = engine.accounts["key"]
    for index in range(60):
        engine.add_order(account, request(engine, price="50000.0"), NOW + index * 2)
    with pytest.raises(OrderRejected, match="EOrder:Orders limit exceeded"):
        engine.add_order(account, request(engine, price="50000.0"), NOW + 200)


def test_gtd_orders_expire_and_the_dead_mans_switch_cancels_everything(
    engine: Engine, account: Account
) -> None:
    gtd = engine.add_order(
        account, request(engine, price="50000.0", timeinforce=TimeInForce.GTD, expiretm=NOW + 10), NOW
    )
    gtc = engine.add_order(account, request(engine, price="50000.0"), NOW)
    assert gtd and gtc
    engine.expire(NOW + 10)
    assert gtd.status is OrderStatus.EXPIRED and gtc.is_open
    assert engine.arm_dead_man(account, 60, NOW + 10) == NOW + 70
    engine.arm_dead_man(account, 60, NOW + 40)  # refreshed: now due at +100
    engine.expire(NOW + 80)
    assert gtc.is_open
    engine.expire(NOW + 100)
    assert gtc.status is OrderStatus.CANCELED and gtc.reason == "Dead man's switch"
    assert engine.arm_dead_man(account, 0, NOW + 101) is None


def test_find_by_txid_cl_ord_id_and_userref(engine: Engine, account: Account) -> None:
    a = engine.add_order(account, request(engine, price="50000.0", userref=7), NOW)
    b = engine.add_order(account, request(engine, price="50000.0", userref=7), NOW)
    c = engine.add_order(account, request(engine, price="50000.0", cl_ord_id="c-1"), NOW)
    assert a and b and c
    assert engine.find(account, a.txid) == [a]
    assert engine.find(account, "7") == [a, b]
    assert engine.find(account, "c-1") == [c]
    assert engine.find(account, "7", "txid") == []
    assert engine.find(account, "OXXXXX-XXXXX-XXXXXX") == []
