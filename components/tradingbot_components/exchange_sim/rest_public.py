"""`/0/public/*` of the simulated exchange: Time, SystemStatus, Assets, AssetPairs, Ticker, Depth, OHLC,
Trades, each a pure function of the simulator's state and the query, answering Kraken's result shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradingbot_components.exchange_sim.catalog import Asset, PairSpec
from tradingbot_components.exchange_sim.market import BookSide
from tradingbot_components.exchange_sim.orders import OrderRejected, invalid
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.tape import OHLC_INTERVALS
from tradingbot_components.exchange_sim.wire import fixed, rfc1123
from tradingbot_components.kraken.errors import KrakenError

PublicHandler = Callable[[Simulator, Mapping[str, str], float], Any]


def _names(params: Mapping[str, str], key: str) -> list[str]:
    return [name.strip() for name in params.get(key, "").split(",") if name.strip()]


def _pairs(sim: Simulator, params: Mapping[str, str], *, required: bool = False) -> list[PairSpec]:
    names = _names(params, "pair")
    if not names:
        if required:
            raise OrderRejected(KrakenError.UNKNOWN_ASSET_PAIR.value)
        return list(sim.catalog.pairs.values())
    pairs = []
    for name in names:
        pair = sim.catalog.pair(name)
        if pair is None:
            raise OrderRejected(KrakenError.UNKNOWN_ASSET_PAIR.value)
        pairs.append(pair)
    return pairs


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(key) from None
    if not low <= value <= high:
        raise invalid(key)
    return value


def time_(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    return {"unixtime": int(now), "rfc1123": rfc1123(now)}


def system_status(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    stamp = dt.datetime.fromtimestamp(int(now), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"status": "online", "timestamp": stamp}


def _asset_view(asset: Asset) -> dict[str, Any]:
    return {
        "aclass": "currency",
        "altname": asset.altname,
        "decimals": asset.decimals,
        "display_decimals": asset.display_decimals,
        "collateral_value": 1.0 if asset.id.startswith("Z") else 0.0,
        "status": "enabled",
    }


def assets(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    names = _names(params, "asset")
    chosen = sim.catalog.assets_ordered()
    if names:
        chosen = []
        for name in names:
            asset = sim.catalog.asset(name)
            if asset is None:
                raise OrderRejected(KrakenError.UNKNOWN_ASSET.value)
            chosen.append(asset)
    return {asset.id: _asset_view(asset) for asset in chosen}


def _fees(sim: Simulator, maker: bool) -> list[list[float]]:
    rate = sim.settings.fees.maker if maker else sim.settings.fees.taker
    return [[0, float(rate * 100)]]


def pair_view(sim: Simulator, pair: PairSpec, info: str = "info") -> dict[str, Any]:
    if info == "leverage":
        return {"leverage_buy": [], "leverage_sell": []}
    if info == "fees":
        return {"fees": _fees(sim, False), "fee_volume_currency": "ZUSD"}
    if info == "margin":
        return {"margin_call": 80, "margin_stop": 40}
    return {
        "altname": pair.altname,
        "wsname": pair.wsname,
        "aclass_base": "currency",
        "base": pair.base.id,
        "aclass_quote": "currency",
        "quote": pair.quote.id,
        "lot": "unit",
        "cost_decimals": pair.cost_decimals,
        "pair_decimals": pair.pair_decimals,
        "lot_decimals": pair.lot_decimals,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": _fees(sim, False),
        "fees_maker": _fees(sim, True),
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": format(pair.ordermin, "f"),
        "costmin": format(pair.costmin, "f"),
        "tick_size": format(pair.tick_size, "f"),
        "status": "online",
    }


def asset_pairs(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    info = params.get("info") or "info"
    if info not in ("info", "leverage", "fees", "margin"):
        raise invalid("info")
    return {pair.id: pair_view(sim, pair, info) for pair in _pairs(sim, params)}


def _touch(pair: PairSpec, book: BookSide, ticks: int | None) -> list[str]:
    """`[price, whole_lot_volume, lot_volume]` of the best level."""
    if ticks is None:
        return ["0", "0", "0"]
    qty = pair.qty(book.total(ticks))
    return [fixed(pair.price(ticks), pair.pair_decimals), str(int(qty)), fixed(qty, pair.lot_decimals)]


def ticker(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in _pairs(sim, params):
        market, tape = sim.engine.markets[pair.id], sim.engine.tapes[pair.id]
        day = tape.day(now)
        p, q = pair.pair_decimals, pair.lot_decimals
        volume = fixed(pair.qty(day.volume), q)
        vwap = fixed(tape.vwap(day), p)
        out[pair.id] = {
            "a": _touch(pair, market.asks, market.best_ask()),
            "b": _touch(pair, market.bids, market.best_bid()),
            "c": [fixed(pair.price(day.last), p), fixed(pair.qty(day.last_lots), q)],
            "v": [volume, volume],
            "p": [vwap, vwap],
            "t": [day.count, day.count],
            "l": [fixed(pair.price(day.low), p)] * 2,
            "h": [fixed(pair.price(day.high), p)] * 2,
            "o": fixed(pair.price(day.open), p),
        }
    return out


def depth(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    (pair,) = _pairs(sim, params, required=True)[:1]
    count = _int(params, "count", 100, 1, 500)
    market = sim.engine.markets[pair.id]
    stamp = int(now)

    def rows(book: BookSide) -> list[list[Any]]:
        return [
            [fixed(pair.price(t), pair.pair_decimals), fixed(pair.qty(lots), pair.lot_decimals), stamp]
            for t, lots in book.top(count)
        ]

    return {pair.id: {"asks": rows(market.asks), "bids": rows(market.bids)}}


def ohlc(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    (pair,) = _pairs(sim, params, required=True)[:1]
    interval = _int(params, "interval", 1, 1, 21600)
    if interval not in OHLC_INTERVALS:
        raise invalid("interval")
    since_raw = params.get("since")
    try:
        since = float(since_raw) if since_raw not in (None, "") else None
    except ValueError:
        raise invalid("since") from None
    tape = sim.engine.tapes[pair.id]
    candles = tape.candles(interval, since)
    p, q = pair.pair_decimals, pair.lot_decimals
    rows = [
        [
            c.start,
            fixed(pair.price(c.open), p),
            fixed(pair.price(c.high), p),
            fixed(pair.price(c.low), p),
            fixed(pair.price(c.close), p),
            fixed(pair.price(c.notional // c.volume) if c.volume else pair.price(c.close), p),
            fixed(pair.qty(c.volume), q),
            c.count,
        ]
        for c in candles
    ]
    last = candles[-2].start if len(candles) > 1 else (candles[-1].start if candles else 0)
    return {pair.id: rows, "last": last}


def trades(sim: Simulator, params: Mapping[str, str], now: float) -> dict[str, Any]:
    (pair,) = _pairs(sim, params, required=True)[:1]
    count = _int(params, "count", 1000, 1, 1000)
    since_raw = params.get("since")
    try:
        since = Decimal(since_raw) if since_raw not in (None, "") else None
    except ArithmeticError:
        raise invalid("since") from None
    tape = sim.engine.tapes[pair.id]
    chosen = list(tape.trades)
    if since is not None:
        # Kraken's cursor is nanoseconds; seconds are accepted too.
        floor = float(since) / 1e9 if since > 10**12 else float(since)
        chosen = [t for t in chosen if t.time > floor]
    chosen = chosen[:count]
    rows = [
        [
            fixed(pair.price(t.ticks), pair.pair_decimals),
            fixed(pair.qty(t.lots), pair.lot_decimals),
            round(t.time, 4),
            "b" if t.side.value == "buy" else "s",
            "m" if t.ord_type == "market" else "l",
            "",
            t.trade_id,
        ]
        for t in chosen
    ]
    last = str(int((chosen[-1].time if chosen else now) * 1e9))
    return {pair.id: rows, "last": last}


PUBLIC_METHODS: dict[str, PublicHandler] = {
    "Time": time_,
    "SystemStatus": system_status,
    "Assets": assets,
    "AssetPairs": asset_pairs,
    "Ticker": ticker,
    "Depth": depth,
    "OHLC": ohlc,
    "Trades": trades,
}
