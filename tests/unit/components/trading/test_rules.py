"""Pair rules from AssetPairs and the rounding every order goes through."""

from __future__ import annotations

from decimal import Decimal as D

from tradingbot_components.trading.rules import parse_asset_pairs

# The shape Kraken documents for AssetPairs (XXBTZUSD), trimmed to the fields the rules read.
ASSET_PAIRS = {
    "XXBTZUSD": {
        "altname": "XBTUSD",
        "wsname": "XBT/USD",
        "base": "XXBT",
        "quote": "ZUSD",
        "pair_decimals": 1,
        "lot_decimals": 8,
        "fees": [[0, 0.26], [50000, 0.24]],
        "ordermin": "0.00005",
        "costmin": "0.5",
        "tick_size": "0.1",
    }
}


def test_rules_are_keyed_by_the_ws_v2_symbol_and_keep_rest_names() -> None:
    rules = parse_asset_pairs(ASSET_PAIRS)["BTC/USD"]
    assert (rules.altname, rules.base, rules.quote) == ("XBTUSD", "XXBT", "ZUSD")
    assert rules.taker_fee == D("0.0026")
    assert (rules.ordermin, rules.costmin, rules.tick_size) == (D("0.00005"), D("0.5"), D("0.1"))


def test_prices_round_to_the_tick_in_the_safe_direction_and_volumes_down() -> None:
    rules = parse_asset_pairs(ASSET_PAIRS)["BTC/USD"]
    assert rules.price_down(D("50000.19")) == D("50000.1")
    assert rules.price_up(D("50000.11")) == D("50000.2")
    assert rules.price_up(D("50000.1")) == D("50000.1")
    assert rules.volume_down(D("0.123456789")) == D("0.12345678")


def test_too_small_names_the_minimum_it_misses() -> None:
    rules = parse_asset_pairs(ASSET_PAIRS)["BTC/USD"]
    assert "minimum 0.00005" in (rules.too_small(D("0.00001"), D("50000")) or "")
    assert "minimum 0.5" in (rules.too_small(D("0.00005"), D("1000")) or "")
    assert rules.too_small(D("0.001"), D("50000")) is None
