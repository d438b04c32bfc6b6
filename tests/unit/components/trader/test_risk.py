"""Pre-trade checks: the cap, the available balance, the pair's increments and minimums."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.clients.balances import AssetBalance, Balances
from tradingbot_components.storage.models import Side
from tradingbot_components.strategy.api import Limits, PlaceOrder
from tradingbot_components.trader.risk import Approved, Refused, check_order
from tradingbot_components.trading.positions import Holding
from tradingbot_components.trading.rules import PairRules

RULES = PairRules("BTC/USD", "XBTUSD", 1, 8, D("0.00005"), D("0.5"), D("0.1"), D("0.0026"), "XXBT", "ZUSD")
LIMITS = Limits(profit_target=D("0.005"), max_position_size=D("100"))


def balances(usd: str = "100000", btc: str = "0", held_usd: str = "0") -> Balances:
    return Balances({"ZUSD": AssetBalance(D(usd), D(held_usd)), "XXBT": AssetBalance(D(btc))})


def test_an_unsized_buy_is_sized_to_the_position_cap_in_quote_currency() -> None:
    result = check_order(PlaceOrder("BTC/USD", Side.BUY, D("50000.07")), RULES, Holding(), LIMITS, balances())
    assert result == Approved("BTC/USD", Side.BUY, D("0.00200000"), D("50000.0"))
    assert result.volume * result.price <= LIMITS.max_position_size


def test_what_is_already_held_counts_against_the_cap() -> None:
    holding = Holding(D("0.0015"), D("50000"))
    result = check_order(PlaceOrder("BTC/USD", Side.BUY, D("50000")), RULES, holding, LIMITS, balances())
    assert isinstance(result, Approved) and result.volume == D("0.0005")
    full = Holding(D("0.002"), D("50000"))
    refused = check_order(PlaceOrder("BTC/USD", Side.BUY, D("50000")), RULES, full, LIMITS, balances())
    assert isinstance(refused, Refused) and "position cap reached" in refused.reason


def test_a_buy_is_limited_to_what_the_available_quote_pays_including_the_fee() -> None:
    # 60 USD total, 10 held: 50 available buys 50 / (50000 * 1.0026) BTC.
    result = check_order(
        PlaceOrder("BTC/USD", Side.BUY, D("50000")), RULES, Holding(), LIMITS, balances("60", held_usd="10")
    )
    assert isinstance(result, Approved)
    assert result.volume == D("0.00099740")
    assert result.volume * result.price * (1 + RULES.taker_fee) <= D("50")


def test_a_buy_too_small_for_the_pair_is_refused_with_the_balance() -> None:
    result = check_order(PlaceOrder("BTC/USD", Side.BUY, D("50000")), RULES, Holding(), LIMITS, balances("1"))
    assert isinstance(result, Refused)
    assert "below the pair's minimum" in result.reason and "available ZUSD 1" in result.reason


def test_a_sell_rounds_its_price_up_and_sells_no_more_than_available() -> None:
    holding = Holding(D("0.002"), D("50000"))
    result = check_order(
        PlaceOrder("BTC/USD", Side.SELL, D("50250.01")), RULES, holding, LIMITS, balances(btc="0.0015")
    )
    assert result == Approved("BTC/USD", Side.SELL, D("0.0015"), D("50250.1"))


def test_unknown_balances_refuse_everything() -> None:
    result = check_order(PlaceOrder("BTC/USD", Side.BUY, D("1")), RULES, Holding(), LIMITS, None)
    assert isinstance(result, Refused) and "balance-manager" in result.reason
