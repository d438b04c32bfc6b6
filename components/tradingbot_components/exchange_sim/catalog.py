"""The simulator's assets and pairs, named the way Kraken names them (`XXBT`, `XXBTZUSD`, `XBT/USD`,
`BTC/USD`), built from the configured `trading.pairs`.

Pure data: every other module looks a pair up here by whichever spelling a client used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset: Kraken id (`XXBT`), REST altname (`XBT`), WS v2 name (`BTC`), and its precision."""

    id: str
    altname: str
    ws: str
    decimals: int = 10
    display_decimals: int = 5
    usd_price: Decimal = Decimal(1)  # the simulated market's starting point

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, self.altname, self.ws)


@dataclass(frozen=True, slots=True)
class PairSpec:
    """One tradable pair with Kraken's precision fields."""

    id: str  # XXBTZUSD
    altname: str  # XBTUSD
    wsname: str  # XBT/USD (REST wsname)
    symbol: str  # BTC/USD (WebSocket v2)
    base: Asset
    quote: Asset
    pair_decimals: int
    lot_decimals: int
    cost_decimals: int
    ordermin: Decimal
    costmin: Decimal
    base_price: Decimal

    @property
    def tick_size(self) -> Decimal:
        return Decimal(1).scaleb(-self.pair_decimals)

    @property
    def lot_size(self) -> Decimal:
        return Decimal(1).scaleb(-self.lot_decimals)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.id, self.altname, self.wsname, self.symbol)

    def price(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.pair_decimals)

    def qty(self, lots: int) -> Decimal:
        return Decimal(lots).scaleb(-self.lot_decimals)

    def to_ticks(self, price: Decimal) -> int:
        return int(price.scaleb(self.pair_decimals))

    def to_lots(self, qty: Decimal) -> int:
        return int(qty.scaleb(self.lot_decimals))


def _asset(id_: str, altname: str, ws: str, decimals: int, display: int, usd: str) -> Asset:
    return Asset(id_, altname, ws, decimals, display, Decimal(usd))


# Kraken's ids for the assets a bot is likely to trade; anything else gets a generic entry.
KNOWN_ASSETS: tuple[Asset, ...] = (
    _asset("XXBT", "XBT", "BTC", 10, 5, "60000"),
    _asset("XETH", "ETH", "ETH", 10, 5, "3000"),
    _asset("XLTC", "LTC", "LTC", 10, 5, "80"),
    _asset("XXRP", "XRP", "XRP", 8, 5, "0.6"),
    _asset("XXDG", "XDG", "DOGE", 8, 2, "0.15"),
    _asset("SOL", "SOL", "SOL", 10, 5, "150"),
    _asset("ADA", "ADA", "ADA", 8, 6, "0.45"),
    _asset("DOT", "DOT", "DOT", 10, 8, "7"),
    _asset("LINK", "LINK", "LINK", 10, 5, "15"),
    _asset("USDT", "USDT", "USDT", 8, 4, "1"),
    _asset("USDC", "USDC", "USDC", 8, 4, "1"),
    _asset("ZUSD", "USD", "USD", 4, 2, "1"),
    _asset("ZEUR", "EUR", "EUR", 4, 2, "1.08"),
    _asset("ZGBP", "GBP", "GBP", 4, 2, "1.27"),
    _asset("ZCAD", "CAD", "CAD", 4, 2, "0.73"),
)
_BY_NAME: dict[str, Asset] = {name: asset for asset in KNOWN_ASSETS for name in asset.names}
# Kraken's own precision where it differs from the generic rule below.
_PAIR_DECIMALS: Mapping[tuple[str, str], int] = {("XXBT", "ZUSD"): 1, ("XXBT", "ZEUR"): 1, ("SOL", "ZUSD"): 2}
_PAIR_IDS: Mapping[tuple[str, str], str] = {("XXDG", "ZUSD"): "XDGUSD", ("XXDG", "ZEUR"): "XDGEUR"}
_ORDERMIN: Mapping[str, Decimal] = {"XXBT": Decimal("0.00005"), "XETH": Decimal("0.002")}


def known_asset(name: str) -> Asset | None:
    return _BY_NAME.get(name.strip().upper())


def asset_for(name: str) -> Asset:
    """The asset for any of its spellings; an unknown name becomes a generic 8-decimal asset."""
    return _BY_NAME.get(name.upper()) or Asset(name.upper(), name.upper(), name.upper(), 8, 5)


def _one_significant(value: float) -> Decimal:
    exponent = math.floor(math.log10(value))
    return Decimal(round(value / 10**exponent)).scaleb(exponent).normalize()


def _legacy(asset: Asset) -> bool:
    return len(asset.id) == 4 and asset.id[0] in "XZ" and asset.id[1:] == asset.altname


def make_pair(base: Asset, quote: Asset) -> PairSpec:
    """A pair's Kraken fields: legacy X/Z ids join (`XXBTZUSD`), newer ones use the altname (`SOLUSD`)."""
    price = base.usd_price / quote.usd_price
    decimals = _PAIR_DECIMALS.get((base.id, quote.id))
    if decimals is None:
        decimals = min(10, max(0, 5 - math.floor(math.log10(float(price)))))
    pair_id = _PAIR_IDS.get((base.id, quote.id)) or (
        base.id + quote.id if _legacy(base) and _legacy(quote) else base.altname + quote.altname
    )
    ordermin = _ORDERMIN.get(base.id) or _one_significant(5 / float(base.usd_price))
    return PairSpec(
        id=pair_id,
        altname=base.altname + quote.altname,
        wsname=f"{base.altname}/{quote.altname}",
        symbol=f"{base.ws}/{quote.ws}",
        base=base,
        quote=quote,
        pair_decimals=decimals,
        lot_decimals=8,
        cost_decimals=min(quote.decimals, 8),
        ordermin=ordermin,
        costmin=_one_significant(0.5 / float(quote.usd_price)),
        base_price=price.quantize(Decimal(1).scaleb(-decimals)),
    )


class Catalog:
    """The configured pairs and their assets, found by any Kraken spelling."""

    def __init__(self, pairs: Iterable[PairSpec]) -> None:
        self.pairs: dict[str, PairSpec] = {}
        self.assets: dict[str, Asset] = {}
        self._pair_names: dict[str, PairSpec] = {}
        self._asset_names: dict[str, Asset] = {}
        for pair in pairs:
            self.pairs[pair.id] = pair
            for name in pair.names:
                self._pair_names[name.upper()] = pair
            for asset in (pair.base, pair.quote):
                self.assets[asset.id] = asset
                for name in asset.names:
                    self._asset_names[name.upper()] = asset

    @classmethod
    def from_config(cls, pairs: Iterable[str]) -> Catalog:
        """From `trading.pairs` entries like `XBT/USD` or `BTC/USD`."""
        specs: list[PairSpec] = []
        for name in pairs:
            base, _, quote = name.partition("/")
            spec = make_pair(asset_for(base), asset_for(quote))
            if spec.id not in {s.id for s in specs}:
                specs.append(spec)
        return cls(specs)

    def pair(self, name: str) -> PairSpec | None:
        return self._pair_names.get(name.strip().upper())

    def asset(self, name: str) -> Asset | None:
        return self._asset_names.get(name.strip().upper())

    def assets_ordered(self) -> list[Asset]:
        return sorted(self.assets.values(), key=lambda asset: asset.id)
