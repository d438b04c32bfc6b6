"""What the exchange accepts for one pair (Kraken `AssetPairs`): price and volume precision, minimum order
size and cost, and the fee a taker pays. Orders are rounded here before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from tradingbot_components.market_data.symbols import ws_symbol


@dataclass(frozen=True, slots=True)
class PairRules:
    pair: str  # WS v2 symbol (BTC/USD)
    altname: str  # REST name for AddOrder (XBTUSD)
    price_decimals: int
    lot_decimals: int
    ordermin: Decimal
    costmin: Decimal
    tick_size: Decimal
    taker_fee: Decimal  # fraction (0.0026 for 0.26%)
    base: str = ""  # asset ids as BalanceEx names them (XXBT)
    quote: str = ""  # (ZUSD)

    def price_down(self, price: Decimal) -> Decimal:
        return _to_tick(price, self.tick_size, ROUND_FLOOR).quantize(Decimal(1).scaleb(-self.price_decimals))

    def price_up(self, price: Decimal) -> Decimal:
        return _to_tick(price, self.tick_size, ROUND_CEILING).quantize(
            Decimal(1).scaleb(-self.price_decimals)
        )

    def volume_down(self, volume: Decimal) -> Decimal:
        return volume.quantize(Decimal(1).scaleb(-self.lot_decimals), rounding=ROUND_FLOOR)

    def too_small(self, volume: Decimal, price: Decimal) -> str | None:
        """Why Kraken would refuse this size, or None."""
        if volume < self.ordermin:
            return f"volume {volume} is below the pair's minimum {self.ordermin}"
        if volume * price < self.costmin:
            return f"cost {volume * price} is below the pair's minimum {self.costmin}"
        return None


def _to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


def parse_asset_pairs(result: Mapping[str, Any]) -> dict[str, PairRules]:
    """`AssetPairs` result → rules by WS v2 symbol."""
    rules: dict[str, PairRules] = {}
    for entry in result.values():
        if not isinstance(entry, Mapping) or not entry.get("wsname"):
            continue
        fees = entry.get("fees") or [[0, "0.26"]]
        price_decimals = int(entry["pair_decimals"])
        tick = entry.get("tick_size")
        symbol = ws_symbol(str(entry["wsname"]))
        rules[symbol] = PairRules(
            pair=symbol,
            altname=str(entry.get("altname") or entry["wsname"]).replace("/", ""),
            price_decimals=price_decimals,
            lot_decimals=int(entry["lot_decimals"]),
            ordermin=Decimal(str(entry.get("ordermin") or "0")),
            costmin=Decimal(str(entry.get("costmin") or "0")),
            tick_size=Decimal(str(tick)) if tick else Decimal(1).scaleb(-price_decimals),
            taker_fee=Decimal(str(fees[0][1])) / 100,
            base=str(entry.get("base") or ""),
            quote=str(entry.get("quote") or ""),
        )
    return rules
