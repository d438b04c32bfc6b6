"""What open orders hold, from executions entries (snapshot, then partial updates)."""

from __future__ import annotations

from decimal import Decimal as D

from tests.unit.components.balance_manager.scenario import directory, fill, order
from tradingbot_components.balance_manager.holds import (
    DEFAULT_TAKER_FEE,
    OpenOrder,
    OpenOrders,
    PairAssets,
    order_hold,
)

PAIR = PairAssets("XXBT", "ZUSD", D("0.004"))


def open_orders() -> tuple[OpenOrders, dict[str, int]]:
    names, pairs = directory()
    return OpenOrders(pairs), names.decimals


def test_a_buy_limit_holds_quote_with_the_taker_fee_and_a_sell_holds_base() -> None:
    buy = OpenOrder("O1", "BTC/USD", "buy", D("0.03"), D("0.01"), D("50000.5"))
    assert order_hold(buy, PAIR) == ("ZUSD", D("0.02") * D("50000.5") * D("1.004"))
    sell = OpenOrder("O2", "BTC/USD", "sell", D("0.5"), D("0.2"), D("70000"))
    assert order_hold(sell, PAIR) == ("XXBT", D("0.3"))
    market_buy = OpenOrder("O3", "BTC/USD", "buy", D("0.5"), D(0), None)
    assert order_hold(market_buy, PAIR) is None
    done = OpenOrder("O4", "BTC/USD", "sell", D("0.5"), D("0.5"), None)
    assert order_hold(done, PAIR) is None


def test_holds_are_summed_per_asset_and_rounded_as_balance_ex_rounds_them() -> None:
    orders, decimals = open_orders()
    orders.apply(order("O1", qty="0.01", price="56990.5"))
    orders.apply(order("O2", qty="0.02", price="50000.3"))
    orders.apply(order("O3", side="sell", qty="0.5", price="70000.0"))
    exact = (D("0.01") * D("56990.5") + D("0.02") * D("50000.3")) * D("1.004")
    assert orders.held(decimals) == {"ZUSD": exact.quantize(D("0.0001")), "XXBT": D("0.5000000000")}
    assert str(orders.held(decimals)["ZUSD"]) == "1576.1906"


def test_updates_carry_only_what_changed() -> None:
    orders, decimals = open_orders()
    orders.apply(order("O1", exec_type="pending_new", qty="0.04", price="50000.0"))
    # Kraken's later entries may leave out the side, the quantity and the price.
    orders.apply(
        {
            "exec_type": "trade",
            "order_id": "O1",
            "cum_qty": D("0.01"),
            "order_status": "partially_filled",
            "exec_id": "T1",
            "last_qty": D("0.01"),
            "last_price": D("50000.0"),
            "timestamp": 0,
        }
    )
    assert orders.orders["O1"] == OpenOrder("O1", "BTC/USD", "buy", D("0.04"), D("0.01"), D("50000.0"))
    orders.apply({"exec_type": "amended", "order_id": "O1", "order_qty": D("0.05"), "timestamp": 0})
    assert orders.orders["O1"].remaining == D("0.04")
    orders.apply({"exec_type": "canceled", "order_id": "O1", "order_status": "canceled", "timestamp": 0})
    assert orders.orders == {}
    assert orders.held(decimals) == {"ZUSD": D("502.0000")}  # the fill, until its ledger row
    assert orders.settle("T1", "ZUSD")
    assert orders.held(decimals) == {}


def test_a_fill_keeps_the_released_hold_until_its_ledger_row_arrives() -> None:
    orders, decimals = open_orders()
    orders.apply(order("O1", qty="0.01", price="60000.0"))
    before = orders.held(decimals)["ZUSD"]
    touched = orders.apply(fill("O1", "TX1", "0.01", "60000.0"))
    assert touched == {"XXBT", "ZUSD"}
    orders.apply(order("O1", exec_type="filled", cum="0.01"))
    assert orders.orders == {}
    assert orders.held(decimals)["ZUSD"] == before  # spent, but the balance has not moved yet
    assert not orders.settle("TX1", "XXBT")  # the base row does not book the quote hold
    assert orders.settle("TX1", "ZUSD")
    assert orders.held(decimals) == {}


def test_a_snapshot_replaces_every_order() -> None:
    orders, decimals = open_orders()
    orders.apply(order("O1"))
    touched = orders.replace_all([order("O2", side="sell", qty="1")])
    assert set(orders.orders) == {"O2"}
    assert touched == {"XXBT", "ZUSD"}
    assert orders.held(decimals) == {"XXBT": D("1.0000000000")}


def test_a_pair_asset_pairs_did_not_describe_is_assumed_with_the_default_fee() -> None:
    names, pairs = directory()
    orders = OpenOrders(pairs)
    names.learn_keys(["XETH"])
    entry = order("O1", qty="2", price="3000.00")
    entry["symbol"] = "ETH/USD"
    orders.apply(entry)
    assert orders.held(names.decimals) == {
        "ZUSD": (D(2) * D(3000) * (1 + DEFAULT_TAKER_FEE)).quantize(D("0.0001"))
    }
    assert pairs.assumed == {"ETH/USD"}
    assert pairs("XBT/USD") == PairAssets("XXBT", "ZUSD", D("0.004"))


def test_an_unreadable_entry_is_counted_and_skipped() -> None:
    orders, _ = open_orders()
    assert orders.apply({"exec_type": "new"}) == set()
    assert orders.unreadable == 1 and "KeyError" in (orders.last_unreadable or "")
