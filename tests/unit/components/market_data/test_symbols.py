"""Pair spellings across config, REST and WS v2, and where checksum precisions come from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiohttp import web

from tradingbot_components.kraken.book import BookMessage, BookMessageType, PriceLevel
from tradingbot_components.market_data.symbols import (
    AssetPairsError,
    PairPrecision,
    PrecisionSource,
    fetch_precisions,
    infer_precision,
    precisions_from_asset_pairs,
    rest_altname,
    ws_symbol,
)

# Shaped like Kraken's AssetPairs result (trimmed to the fields we read and a few we do not).
ASSET_PAIRS = {
    "XXBTZUSD": {"altname": "XBTUSD", "wsname": "XBT/USD", "pair_decimals": 1, "lot_decimals": 8},
    "XETHZUSD": {"altname": "ETHUSD", "wsname": "ETH/USD", "pair_decimals": 2, "lot_decimals": 8},
    "XDGUSD": {"altname": "XDGUSD", "wsname": "XDG/USD", "pair_decimals": 7, "lot_decimals": 8},
    "BROKEN": {"wsname": "SOL/USD"},
}


def test_spellings() -> None:
    assert [ws_symbol(p) for p in ("XBT/USD", "btc/usd", "XDG/EUR", "ETH/XBT")] == [
        "BTC/USD",
        "BTC/USD",
        "DOGE/EUR",
        "ETH/BTC",
    ]
    assert [rest_altname(p) for p in ("BTC/USD", "XBT/USD", "DOGE/USD", "ETH/USD")] == [
        "XBTUSD",
        "XBTUSD",
        "XDGUSD",
        "ETHUSD",
    ]


def test_precisions_are_matched_by_wsname() -> None:
    found = precisions_from_asset_pairs(ASSET_PAIRS, ["BTC/USD", "DOGE/USD", "SOL/USD", "ADA/USD"])
    assert found == {
        "BTC/USD": PairPrecision(1, 8, PrecisionSource.REST),
        "DOGE/USD": PairPrecision(7, 8, PrecisionSource.REST),
    }


def test_precision_inferred_from_a_padded_snapshot() -> None:
    D = Decimal
    snapshot = BookMessage(
        "BTC/USD",
        BookMessageType.SNAPSHOT,
        (PriceLevel(D("45283.5"), D("0.10000000")),),
        (PriceLevel(D("45285"), D("1.5")),),
        0,
    )
    assert infer_precision(snapshot) == PairPrecision(1, 8, PrecisionSource.SNAPSHOT)


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/0/public/AssetPairs", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_fetch_precisions_over_http() -> None:
    seen: list[str] = []

    async def asset_pairs(request: web.Request) -> web.Response:
        seen.append(request.query["pair"])
        return web.json_response({"error": [], "result": ASSET_PAIRS})

    runner, url = await serve(asset_pairs)
    try:
        found = await fetch_precisions(url, ["BTC/USD", "ETH/USD"])
    finally:
        await runner.cleanup()
    assert seen == ["XBTUSD,ETHUSD"]
    assert found["ETH/USD"] == PairPrecision(2, 8, PrecisionSource.REST)


async def test_fetch_precisions_reports_kraken_errors() -> None:
    async def asset_pairs(request: web.Request) -> web.Response:
        return web.json_response({"error": ["EQuery:Unknown asset pair"]})

    runner, url = await serve(asset_pairs)
    try:
        try:
            await fetch_precisions(url, ["NOPE/USD"])
        except AssetPairsError as exc:
            assert "EQuery:Unknown asset pair" in str(exc)
        else:
            raise AssertionError("expected AssetPairsError")
    finally:
        await runner.cleanup()
