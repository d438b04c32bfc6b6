"""Kraken's names for the configured pairs and assets."""

from __future__ import annotations

from decimal import Decimal

from tradingbot_components.exchange_sim.catalog import Catalog


def test_kraken_names_and_precision() -> None:
    catalog = Catalog.from_config(["XBT/USD", "ETH/USD", "SOL/USD", "DOGE/USD"])
    xbt = catalog.pairs["XXBTZUSD"]
    assert (xbt.altname, xbt.wsname, xbt.symbol) == ("XBTUSD", "XBT/USD", "BTC/USD")
    assert (xbt.pair_decimals, xbt.lot_decimals, xbt.ordermin, xbt.tick_size) == (
        1,
        8,
        Decimal("0.00005"),
        Decimal("0.1"),
    )
    assert catalog.pairs["XETHZUSD"].pair_decimals == 2
    assert "SOLUSD" in catalog.pairs and catalog.pairs["SOLUSD"].pair_decimals == 2
    doge = catalog.pairs["XDGUSD"]
    assert (doge.wsname, doge.symbol, doge.base.id) == ("XDG/USD", "DOGE/USD", "XXDG")


def test_lookups_by_any_spelling() -> None:
    catalog = Catalog.from_config(["BTC/USD"])
    for name in ("XXBTZUSD", "XBTUSD", "XBT/USD", "BTC/USD", "xbtusd"):
        pair = catalog.pair(name)
        assert pair is not None and pair.id == "XXBTZUSD"
    assert catalog.pair("ETHUSD") is None
    assert catalog.asset("BTC") is catalog.asset("XXBT") is catalog.asset("XBT")
