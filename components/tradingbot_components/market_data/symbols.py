"""Pair names and price/quantity precisions: config pairs, WebSocket v2 symbols and REST AssetPairs.

Config pairs are `BASE/QUOTE`; WS v2 spells Bitcoin `BTC` where REST (`wsname`, altnames) says `XBT`.
Precisions come from REST `pair_decimals`/`lot_decimals`, or, failing that, from a book snapshot.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from tradingbot_components.kraken.book import BookMessage

log = logging.getLogger(__name__)

# Asset codes where WS v2 differs from REST's legacy names (REST -> WS v2).
_WS_ALIASES = {"XBT": "BTC", "XDG": "DOGE"}
_REST_ALIASES = {ws: rest for rest, ws in _WS_ALIASES.items()}


def ws_symbol(pair: str) -> str:
    """The WebSocket v2 symbol of a pair in either spelling: `XBT/USD` -> `BTC/USD`."""
    base, _, quote = pair.upper().partition("/")
    return f"{_WS_ALIASES.get(base, base)}/{_WS_ALIASES.get(quote, quote)}"


def rest_altname(pair: str) -> str:
    """The REST altname Kraken accepts in `AssetPairs?pair=`: `BTC/USD` -> `XBTUSD`."""
    base, _, quote = pair.upper().partition("/")
    return f"{_REST_ALIASES.get(base, base)}{_REST_ALIASES.get(quote, quote)}"


class PrecisionSource(enum.StrEnum):
    REST = "rest"  # AssetPairs pair_decimals / lot_decimals
    SNAPSHOT = "snapshot"  # the most decimal places seen in a book snapshot


@dataclass(frozen=True, slots=True)
class PairPrecision:
    """Decimal places of prices and quantities, as Kraken formats them for the book checksum."""

    price: int
    qty: int
    source: PrecisionSource

    def to_dict(self) -> dict[str, Any]:
        return {"price": self.price, "qty": self.qty, "source": str(self.source)}


def precisions_from_asset_pairs(
    result: Mapping[str, Any], symbols: Iterable[str]
) -> dict[str, PairPrecision]:
    """The precision of each wanted WS v2 symbol found in an AssetPairs `result` (matched by `wsname`)."""
    wanted = set(symbols)
    found: dict[str, PairPrecision] = {}
    for info in result.values():
        if not isinstance(info, Mapping) or "wsname" not in info:
            continue
        symbol = ws_symbol(str(info["wsname"]))
        if symbol in wanted:
            try:
                found[symbol] = PairPrecision(
                    int(info["pair_decimals"]), int(info["lot_decimals"]), PrecisionSource.REST
                )
            except (KeyError, TypeError, ValueError):
                log.warning("AssetPairs entry for %s has no usable pair_decimals/lot_decimals", symbol)
    return found


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def infer_precision(snapshot: BookMessage) -> PairPrecision:
    """The most decimal places among a snapshot's prices and quantities (parsed exactly, so the wire's
    padding survives). Right when Kraken pads every number, as it does on WS v2."""
    levels = (*snapshot.bids, *snapshot.asks)
    return PairPrecision(
        max((_places(level.price) for level in levels), default=0),
        max((_places(level.qty) for level in levels), default=0),
        PrecisionSource.SNAPSHOT,
    )


class AssetPairsError(Exception):
    """AssetPairs could not be read; the caller falls back to precisions from book snapshots."""


async def fetch_precisions(
    rest_url: str, symbols: Iterable[str], *, timeout: float = 5.0
) -> dict[str, PairPrecision]:
    """GET `/0/public/AssetPairs?pair=...` for the symbols; raises `AssetPairsError` on any failure."""
    wanted = list(symbols)
    url = rest_url.rstrip("/") + "/0/public/AssetPairs"
    params = {"pair": ",".join(rest_altname(symbol) for symbol in wanted)}
    headers = {"User-Agent": "tradingbot-market-data"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, params=params, headers=headers) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise AssetPairsError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(body, Mapping):
        raise AssetPairsError(f"GET {url}: expected a JSON object, got {type(body).__name__}")
    if body.get("error"):
        raise AssetPairsError(f"GET {url}: {', '.join(map(str, body['error']))}")
    result = body.get("result")
    if not isinstance(result, Mapping):
        raise AssetPairsError(f"GET {url}: no result object")
    return precisions_from_asset_pairs(result, wanted)
