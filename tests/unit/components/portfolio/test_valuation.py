"""Positions valued at market mid prices, in the `GET /positions` shape: decimal strings, null valuation
for a pair without a quote, configured pairs shown even before they are traded."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.clients.portfolio import PortfolioView
from tradingbot_components.portfolio.valuation import unpriced, value_positions
from tradingbot_components.trading.positions import Holding

HOLDINGS = {
    "BTC/USD": Holding(D("0.01"), D("50000.1"), D("-1.3")),
    "ETH/USD": Holding(D("-2"), D("3000"), D("4.5")),
}


def test_each_position_is_valued_at_its_mid_price() -> None:
    view = value_positions(HOLDINGS, {"BTC/USD": D("50100.15"), "ETH/USD": D("2990")}, fills=3)
    btc, eth = view.positions
    assert btc.unrealized_pnl == (D("50100.15") - D("50000.1")) * D("0.01") == D("1.0005")
    assert btc.exposure == D("501.0015")
    assert eth.unrealized_pnl == D("20")  # a short gains when the price falls
    assert eth.exposure == D("-5980")
    assert view.realized_pnl == D("3.2") and view.fills == 3


def test_the_document_has_the_issue_s_shape_with_decimal_strings() -> None:
    document = value_positions(HOLDINGS, {"BTC/USD": D("50100.15")}, fills=3).to_dict()
    assert document["realized_pnl"] == "3.2" and document["fills"] == 3
    btc = document["positions"][0]
    assert btc == {
        "pair": "BTC/USD",
        "quantity": "0.01",
        "average_price": "50000.1",
        "market_price": "50100.15",
        "unrealized_pnl": "1.0005",
        "realized_pnl": "-1.3",
        "exposure": "501.0015",
    }
    eth = document["positions"][1]
    assert eth["market_price"] is None and eth["unrealized_pnl"] is None and eth["exposure"] is None
    assert PortfolioView.from_dict(document).position("BTC/USD") is not None


def test_amounts_never_use_exponent_notation() -> None:
    view = value_positions({"BTC/USD": Holding(D("1E-8"), D("5E+4"))}, {"BTC/USD": D("5E+4")})
    position = view.to_dict()["positions"][0]
    assert position["quantity"] == "0.00000001"
    assert position["average_price"] == "50000"
    assert position["unrealized_pnl"] == "0.0000"  # 0E-4, written out
    assert "E" not in str(view.to_dict())


def test_configured_pairs_show_flat_and_the_unpriced_are_listed() -> None:
    view = value_positions({}, {"BTC/USD": D("100")}, pairs=["XBT/USD", "ETH/USD"])
    assert [(p.pair, p.quantity) for p in view.positions] == [("BTC/USD", 0), ("ETH/USD", 0)]
    assert view.positions[0].unrealized_pnl == 0
    assert unpriced(view) == ["ETH/USD"]
