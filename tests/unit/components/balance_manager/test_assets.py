"""WS v2 asset names to BalanceEx ids."""

from __future__ import annotations

from tradingbot_components.balance_manager.assets import AssetNames, is_spot

ASSETS = {
    "XXBT": {"altname": "XBT", "decimals": 10},
    "ZUSD": {"altname": "USD", "decimals": 4},
    "XXDG": {"altname": "XDG", "decimals": 8},
    "SOL": {"altname": "SOL", "decimals": 10},
}


def test_assets_altnames_and_kraken_s_aliases() -> None:
    names = AssetNames()
    names.learn_assets(ASSETS)
    assert [names.rest_id(n) for n in ("BTC", "USD", "DOGE", "SOL", "xbt", "XXBT")] == [
        "XXBT",
        "ZUSD",
        "XXDG",
        "SOL",
        "XXBT",
        "XXBT",
    ]
    assert names.decimals == {"XXBT": 10, "ZUSD": 4, "XXDG": 8, "SOL": 10}
    assert names.unresolved == set()


def test_an_asset_assets_did_not_list_resolves_from_balance_ex_keys() -> None:
    names = AssetNames()
    names.learn_assets(ASSETS)
    names.learn_keys(["XXBT", "ZUSD", "XETH", "USDT", "ZEUR"])
    assert names.rest_id("ETH") == "XETH"  # Kraken's legacy X prefix
    assert names.rest_id("EUR") == "ZEUR"
    assert names.rest_id("USDT") == "USDT"
    assert names.unresolved == set()


def test_an_unknown_name_is_kept_under_its_altname_until_balance_ex_shows_it() -> None:
    names = AssetNames()
    assert names.rest_id("ETH") == "ETH"
    assert names.unresolved == {"ETH"}
    assert names.learn_keys(["XETH"]) == {"ETH": "XETH"}
    assert names.unresolved == set()
    assert names.rest_id("ETH") == "XETH"


def test_earn_and_staking_wallets_are_not_spot() -> None:
    assert is_spot("XXBT") and is_spot("ZUSD") and is_spot("USDT")
    assert not is_spot("XBT.F") and not is_spot("ETH2.S") and not is_spot("DOT.B")
