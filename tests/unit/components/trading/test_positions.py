"""Position keeping from fills: weighted average cost, realized P&L, flips; exact decimals."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradingbot_components.trading.positions import Holding, apply_fill


def test_buys_average_their_prices_by_volume() -> None:
    h = apply_fill(Holding(), "buy", D("1"), D("100"))
    h = apply_fill(h, "buy", D("3"), D("200"))
    assert h.quantity == D("4")
    assert h.average_price == D("175")
    assert h.realized_pnl == 0


def test_a_sell_realizes_the_difference_to_the_average_less_fees() -> None:
    h = apply_fill(Holding(), "buy", D("2"), D("100"), fee=D("0.52"))
    h = apply_fill(h, "sell", D("0.5"), D("110"), fee=D("0.143"))
    assert h.quantity == D("1.5")
    assert h.average_price == D("100")  # reducing keeps the average of what is left
    assert h.realized_pnl == D("5") - D("0.52") - D("0.143")
    assert h.fees == D("0.663")


def test_selling_everything_leaves_a_flat_holding_with_no_average() -> None:
    h = apply_fill(apply_fill(Holding(), "buy", D("0.01"), D("50000.1")), "sell", D("0.01"), D("50250.1"))
    assert h == Holding(D("0"), D("0"), D("2.500"), D("0"))


def test_selling_more_than_held_opens_a_short_at_the_sell_price() -> None:
    h = apply_fill(apply_fill(Holding(), "buy", D("1"), D("100")), "sell", D("3"), D("90"))
    assert h.quantity == D("-2")
    assert h.average_price == D("90")
    assert h.realized_pnl == D("-10")
    covered = apply_fill(h, "buy", D("2"), D("80"))
    assert covered.quantity == 0 and covered.realized_pnl == D("10")


def test_unrealized_is_signed_by_the_position() -> None:
    assert Holding(D("2"), D("100")).unrealized(D("105")) == D("10")
    assert Holding(D("-2"), D("100")).unrealized(D("105")) == D("-10")


def test_a_fill_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        apply_fill(Holding(), "buy", D("0"), D("1"))


amounts = st.decimals(min_value=D("0.00000001"), max_value=D("1000"), places=8)
prices = st.decimals(min_value=D("0.1"), max_value=D("100000"), places=1)
fills = st.lists(st.tuples(st.sampled_from(["buy", "sell"]), amounts, prices), max_size=30)


@given(fills)
def test_quantity_is_the_signed_sum_of_fills_and_cash_is_conserved(sequence: list[tuple[str, D, D]]) -> None:
    """Whatever the order of fills: quantity = buys - sells, and realized + unrealized at any price equals
    the cash the fills moved plus the position's value at that price (no P&L appears from nowhere)."""
    holding = Holding()
    cash = D(0)
    for side, qty, price in sequence:
        holding = apply_fill(holding, side, qty, price)
        cash += -qty * price if side == "buy" else qty * price
    expected_qty = sum((q if s == "buy" else -q for s, q, _ in sequence), D(0))
    assert holding.quantity == expected_qty
    mark = D("12345.6")
    total = holding.realized_pnl + holding.unrealized(mark)
    assert abs(total - (cash + holding.quantity * mark)) < D("1e-12")
