"""The position book: fills applied once by id, per pair, fees in the quote currency, rebuilt from any
replay of the same fills to the same positions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.components.portfolio.fakes import fill
from tradingbot_components.portfolio.positions import PositionBook, fee_in_quote, ws_asset
from tradingbot_components.storage.models import Fill
from tradingbot_components.trading.positions import Holding


def test_a_buy_opens_a_long_at_the_fill_price() -> None:
    book = PositionBook()
    assert book.apply(fill("T1", "buy", "0.01", "50000.1")) is True
    assert book.holding("BTC/USD") == Holding(D("0.01"), D("50000.1"), D(0))
    assert book.fills == 1


def test_buys_average_by_volume_and_a_sell_realizes_against_the_average() -> None:
    book = PositionBook.replay(
        [
            fill("T1", "buy", "1", "100", fee="0.26"),
            fill("T2", "buy", "3", "200", fee="1.56", second=1),
            fill("T3", "sell", "2", "250", fee="1.30", second=2),
        ]
    )
    holding = book.holding("BTC/USD")
    assert holding.quantity == D("2")
    assert holding.average_price == D("175")  # (100 + 600) / 4, unchanged by the sell
    assert holding.realized_pnl == (D("250") - D("175")) * 2 - D("0.26") - D("1.56") - D("1.30")
    assert book.realized_pnl == holding.realized_pnl


def test_selling_everything_resets_the_average_and_keeps_the_realized_pnl() -> None:
    book = PositionBook.replay(
        [fill("T1", "buy", "0.01", "50000.1", fee="1.3"), fill("T2", "sell", "0.01", "50250.1", fee="1.31")]
    )
    holding = book.holding("BTC/USD")
    assert holding.quantity == 0 and holding.average_price == 0
    assert holding.realized_pnl == D("2.500") - D("1.3") - D("1.31")


def test_selling_more_than_held_opens_a_short_at_the_sell_price() -> None:
    book = PositionBook.replay([fill("T1", "buy", "1", "100"), fill("T2", "sell", "3", "90", second=1)])
    holding = book.holding("BTC/USD")
    assert holding.quantity == D("-2") and holding.average_price == D("90")
    assert holding.realized_pnl == D("-10")
    assert holding.unrealized(D("85")) == D("10")  # a short gains when the price falls


def test_a_fill_id_is_applied_once_only() -> None:
    book = PositionBook()
    first = fill("T1", "buy", "1", "100")
    assert book.apply(first) is True
    assert book.apply(first) is False
    assert book.apply(fill("T1", "buy", "5", "999")) is False  # the id decides, not the values
    assert book.holding("BTC/USD").quantity == D("1") and book.fills == 1
    assert book.knows("T1") and not book.knows("T2")


def test_pairs_are_kept_apart_and_named_in_ws_v2_spelling() -> None:
    book = PositionBook.replay(
        [
            fill("T1", "buy", "1", "100", pair="XBT/USD"),
            fill("T2", "buy", "2", "10", pair="ETH/USD", second=1),
        ]
    )
    assert sorted(book.holdings) == ["BTC/USD", "ETH/USD"]
    assert book.holding("XBT/USD") == book.holding("BTC/USD") == Holding(D("1"), D("100"))
    assert book.holding("ETH/USD").quantity == D("2")


def test_last_fill_time_is_the_newest_execution() -> None:
    book = PositionBook.replay([fill("T2", "buy", "1", "1", second=5), fill("T1", "buy", "1", "1", second=1)])
    assert book.last_fill_at is not None and book.last_fill_at.second == 5


def test_an_impossible_fill_is_refused_and_changes_nothing() -> None:
    book = PositionBook()
    with pytest.raises(ValueError, match="quantity"):
        book.apply(fill("T1", "buy", "0", "100"))
    with pytest.raises(ValueError, match="price"):
        book.apply(fill("T2", "buy", "1", "0"))
    assert book.fills == 0 and book.holdings == {}


@pytest.mark.parametrize(
    ("fee", "currency", "expected"),
    [
        ("1.30", "USD", D("1.30")),
        ("1.30", "ZUSD", None),  # REST's legacy code is not the WS v2 quote name: not guessed
        ("1.30", None, D("1.30")),  # unnamed: Kraken's default, the quote currency
        ("0.0001", "BTC", D("5.00001")),  # base fee valued at the fill price
        ("0.0001", "XBT", D("5.00001")),  # in either spelling
        ("0", "KFEE", D(0)),
        ("3", "KFEE", None),
    ],
)
def test_fees_are_valued_in_the_quote_currency(fee: str, currency: str | None, expected: D | None) -> None:
    assert fee_in_quote(fill("T1", "buy", "1", "50000.1", fee=fee, fee_currency=currency)) == expected


def test_a_fee_that_cannot_be_valued_is_kept_apart() -> None:
    book = PositionBook.replay([fill("T1", "buy", "1", "100", fee="3", fee_currency="KFEE")])
    assert book.holding("BTC/USD").realized_pnl == 0
    assert book.unvalued_fees == {"KFEE": D("3")}


def test_ws_asset_spelling() -> None:
    assert ws_asset("XBT") == "BTC" and ws_asset("usd") == "USD" and ws_asset("XDG") == "DOGE"


# -- properties --------------------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.00000001"), max_value=D("1000"), places=8)
prices = st.decimals(min_value=D("0.1"), max_value=D("100000"), places=1)
fees = st.decimals(min_value=D("0"), max_value=D("10"), places=4)
pairs = st.sampled_from(["BTC/USD", "ETH/USD"])


@st.composite
def fill_histories(draw: st.DrawFn) -> list[Fill]:
    rows = draw(
        st.lists(st.tuples(st.sampled_from(["buy", "sell"]), amounts, prices, fees, pairs), max_size=25)
    )
    return [
        fill(f"T{i}", side, str(qty), str(price), fee=str(fee), pair=pair, second=i)
        for i, (side, qty, price, fee, pair) in enumerate(rows)
    ]


def snapshot(book: PositionBook) -> tuple[object, ...]:
    return (book.holdings, book.fills, book.last_fill_at, book.realized_pnl)


@given(fill_histories(), st.data())
def test_replaying_fills_with_any_duplicates_gives_the_same_positions(
    history: list[Fill], data: st.DataObject
) -> None:
    """Reconnect snapshots and restarts deliver fills again, at any point: as long as each fill's first
    arrival keeps the exchange's order, the positions are those of the fills applied once each."""
    once = PositionBook.replay(history)
    replayed: list[Fill] = []
    for index, item in enumerate(history):
        replayed.append(item)
        # after each fill, any of the fills seen so far may come again (a snapshot replaying recent fills)
        replayed += data.draw(st.lists(st.sampled_from(history[: index + 1]), max_size=3))
    again = PositionBook.replay(replayed)
    assert snapshot(again) == snapshot(once)


@given(fill_histories(), st.integers(min_value=0, max_value=25))
def test_a_rebuild_from_storage_then_the_live_feed_equals_one_uninterrupted_run(
    history: list[Fill], cut: int
) -> None:
    """A restart at any point: rebuilt from the stored prefix, then the exchange replays recent fills (the
    stored ones among them) and the rest arrive live."""
    stored, rest = history[:cut], history[cut:]
    restarted = PositionBook.replay(stored)
    for item in [*history[max(0, cut - 5) : cut], *rest]:
        restarted.apply(item)
    assert snapshot(restarted) == snapshot(PositionBook.replay(history))


@given(fill_histories())
def test_quantity_is_buys_minus_sells_per_pair_and_fees_only_reduce_realized(history: list[Fill]) -> None:
    book = PositionBook.replay(history)
    free = PositionBook.replay(
        [fill(f.fill_id, str(f.side), str(f.volume), str(f.price), pair=f.pair) for f in history]
    )
    total_fees = sum((f.fee for f in history), D(0))
    for pair in ("BTC/USD", "ETH/USD"):
        expected = sum((f.volume if f.side == "buy" else -f.volume for f in history if f.pair == pair), D(0))
        assert book.holding(pair).quantity == expected
        if expected == 0:
            assert book.holding(pair).average_price == 0
    # Equal up to the last of Decimal's 28 significant digits (the average is a division, rounded there).
    assert abs(book.realized_pnl - (free.realized_pnl - total_fees)) < D("1e-18")
