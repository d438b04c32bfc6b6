"""Benchmark: order-book messages per second with checksum verification, ours vs python-kraken-sdk.

Input, identical for every contender: the recorded Kraken WS v2 BTC/USD depth-10 stream (one snapshot and
509 updates, tests/unit/components/kraken/data/), as the raw JSON text frames a socket would deliver.
Each pass starts from a fresh book object (built outside the timer) and feeds all 510 frames; the timer
covers decoding each frame and everything the contender does with it, nothing else.

  ours: component  - `loads_exact` (exact Decimals) + `MarketState.handle`: the market-data component's own
                     path (parse, apply, checksum at pair precision, state/counters; no /stream subscriber)
  ours: library    - `loads_exact` + `parse_book_frame` + `OrderBook.apply` (checksum verified)
  python-kraken-sdk - `json.loads` + `await SpotOrderBookClient.on_message(message)`, exactly what its
                     connector does per frame. The SDK has no offline mode, so its message handler is driven
                     directly with the recorded frames; its one AssetPairs REST call (precisions, made when a
                     book first appears) is answered from memory with pair_decimals=1, lot_decimals=8, and
                     its update callback is a no-op. It verifies update checksums only (not the snapshot's).
  decode only      - `loads_exact` and `json.loads` alone, to show how much of each is JSON decoding.

Both contenders' books must verify every checksum of every pass, or the run fails.

usage: python -m bench.book_throughput [--passes 20] [--runs 7] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import machine, median, write_section
from tradingbot_components.kraken.book import OrderBook, loads_exact, parse_book_frame
from tradingbot_components.market_data import BookState, MarketState, PairPrecision, PrecisionSource

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "tests" / "unit" / "components" / "kraken" / "data" / "kraken-ws-v2-book-btcusd.json"
PRICE_DECIMALS, LOT_DECIMALS = 1, 8  # AssetPairs XXBTZUSD: pair_decimals, lot_decimals


def recorded_frames() -> list[str]:
    document = json.loads(RECORDING.read_text())
    return [json.dumps(document["init"]), *(json.dumps(frame) for frame in document["updates"])]


# -- contenders: each returns the seconds its timed loop took for one pass --------------------------


def ours_component(frames: list[str]) -> float:
    state = MarketState(["BTC/USD"])
    state.set_precisions({"BTC/USD": PairPrecision(PRICE_DECIMALS, LOT_DECIMALS, PrecisionSource.REST)})
    handle = state.handle
    started = time.perf_counter()
    for raw in frames:
        if handle(loads_exact(raw)):
            raise AssertionError("our component asked to resync: a checksum did not verify")
    elapsed = time.perf_counter() - started
    feed = state.feed("BTC/USD")
    assert feed.state is BookState.IN_SYNC and feed.updates == len(frames) - 1
    return elapsed


def ours_library(frames: list[str]) -> float:
    book = OrderBook("BTC/USD", 10, price_precision=PRICE_DECIMALS, qty_precision=LOT_DECIMALS)
    apply = book.apply
    started = time.perf_counter()
    for raw in frames:
        for message in parse_book_frame(loads_exact(raw)):
            if not apply(message):
                raise AssertionError("our book: a checksum did not verify")
    elapsed = time.perf_counter() - started
    assert book.in_sync
    return elapsed


class _MemoryMarket:
    """Stands in for the SDK's REST `Market`: the AssetPairs answer it would fetch for BTC/USD."""

    def get_asset_pairs(self, pair: str, **_: Any) -> dict[str, dict[str, int]]:
        return {pair: {"pair_decimals": PRICE_DECIMALS, "lot_decimals": LOT_DECIMALS}}


def sdk_client() -> Any:
    from kraken.spot import SpotOrderBookClient

    def on_update(pair: str, message: dict[str, Any]) -> None:
        return None

    client = SpotOrderBookClient(depth=10, callback=on_update)
    client._SpotOrderBookClient__market = _MemoryMarket()  # type: ignore[attr-defined]  # no network
    return client


def python_kraken_sdk(frames: list[str]) -> float:
    async def drive() -> float:
        client = sdk_client()  # needs a running loop (it opens an aiohttp session); outside the timer
        on_message = client.on_message
        try:
            started = time.perf_counter()
            for raw in frames:
                await on_message(json.loads(raw))
            elapsed = time.perf_counter() - started
            book = client.get("BTC/USD")
        finally:
            await client.close()
        if not book or not book["valid"]:
            raise AssertionError("python-kraken-sdk: a checksum did not verify")
        return elapsed

    return asyncio.run(drive())


def decode_exact(frames: list[str]) -> float:
    started = time.perf_counter()
    for raw in frames:
        loads_exact(raw)
    return time.perf_counter() - started


def decode_floats(frames: list[str]) -> float:
    started = time.perf_counter()
    for raw in frames:
        json.loads(raw)
    return time.perf_counter() - started


CONTENDERS: list[tuple[str, str, Callable[[list[str]], float]]] = [
    ("ours: component", "loads_exact + MarketState.handle", ours_component),
    ("ours: library", "loads_exact + parse_book_frame + OrderBook.apply", ours_library),
    ("python-kraken-sdk 3.5.1", "json.loads + SpotOrderBookClient.on_message", python_kraken_sdk),
    ("decode only (exact)", "loads_exact", decode_exact),
    ("decode only (floats)", "json.loads", decode_floats),
]


def measure(frames: list[str], passes: int, runs: int) -> dict[str, list[float]]:
    """Messages per second of each contender, one value per run; contenders alternate within a run."""
    rates: dict[str, list[float]] = {name: [] for name, _, _ in CONTENDERS}
    for _ in range(runs):
        for name, _, contender in CONTENDERS:
            seconds = sum(contender(frames) for _ in range(passes))
            rates[name].append(passes * len(frames) / seconds)
    return rates


def report(rates: dict[str, list[float]], frames: int, passes: int, runs: int) -> str:
    sdk_version = metadata.version("python-kraken-sdk")
    rows = [
        "| contender | timed per frame | median msg/s | min to max msg/s | median µs/msg |",
        "|---|---|---:|---:|---:|",
    ]
    for name, boundary, _ in CONTENDERS:
        values = rates[name]
        mid = median(values)
        rows.append(
            f"| {name} | `{boundary}` | {mid:,.0f} | {min(values):,.0f} to {max(values):,.0f} | {1e6 / mid:.1f} |"
        )
    ours, sdk = median(rates["ours: component"]), median(rates["python-kraken-sdk 3.5.1"])
    library = median(rates["ours: library"])
    # Contenders alternate within a run, so the ratio inside one run shares that run's machine noise.
    per_run = [a / b for a, b in zip(rates["ours: component"], rates["python-kraken-sdk 3.5.1"], strict=True)]
    return "\n".join(
        [
            "## Order-book throughput with checksum verification",
            "",
            f"Same input for all: the recorded Kraken WS v2 BTC/USD depth-10 stream ({frames} raw JSON frames: "
            f"1 snapshot + {frames - 1} updates), {passes} passes per run from a fresh book, {runs} runs, "
            "contenders interleaved; medians over runs. Timed per frame: JSON decoding plus everything the "
            "contender does with the frame (apply, sort/truncate, checksum). python-kraken-sdk "
            f"{sdk_version}'s `SpotOrderBookClient.on_message` is driven directly with the recorded frames "
            "(it has no offline mode; its one AssetPairs call is answered from memory, its callback is a "
            "no-op); it checks update checksums only, we also check the snapshot's. Every checksum verified "
            "in every pass for both.",
            "",
            *rows,
            "",
            f"**Ratio (ours: component / python-kraken-sdk): {ours / sdk:.2f}x**; "
            f"ours: library / python-kraken-sdk: {library / sdk:.2f}x. Per-run ratio (ours: component / "
            f"python-kraken-sdk, same run): median {median(per_run):.2f}x, range {min(per_run):.2f}x to "
            f"{max(per_run):.2f}x.",
            "",
            f"Machine: {machine()}.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=20, help="passes over the recording per run")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    frames = recorded_frames()
    for _, _, contender in CONTENDERS:  # warm up (imports, caches) and check correctness once
        contender(frames)
    rates = measure(frames, args.passes, args.runs)
    for name, values in rates.items():
        print(
            f"{name}: median {median(values):,.0f} msg/s (stdev {statistics.pstdev(values):,.0f})", flush=True
        )
    markdown = report(rates, len(frames), args.passes, args.runs)
    print(markdown)
    if not args.no_write:
        write_section("book-throughput", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
