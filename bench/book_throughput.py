"""Benchmark: order-book messages per second with checksum verification, ours vs python-kraken-sdk.

Input, identical for every contender: the recorded Kraken WS v2 BTC/USD depth-10 stream (one snapshot and
509 updates, tests/unit/components/kraken/data/), as the raw JSON text frames a socket would deliver.
Each pass starts from a fresh book object (built outside the timer) and feeds all 510 frames; the timer
covers decoding each frame and everything the contender does with it, nothing else. The timer is the CPU
time of the benchmark's thread (`time.thread_time`): on a shared machine, time spent preempted by other
processes would otherwise land on whichever contender happened to be running.

  ours: component  - `loads_exact` (msgspec, exact Decimals) + `MarketState.handle`: the market-data
                     component's own path, as its exchange client runs it per frame (a one-symbol update goes
                     from the decoded dicts straight into the book, the snapshot through `parse_book_frame`;
                     apply, checksum at pair precision, state/counters; no /stream subscriber)
  ours: library    - `loads_exact` + `parse_book_frame` + `OrderBook.apply` (checksum verified)
  python-kraken-sdk - `json.loads` + `await SpotOrderBookClient.on_message(message)`, exactly what its
                     connector does per frame. The SDK has no offline mode, so its message handler is driven
                     directly with the recorded frames; its one AssetPairs REST call (precisions, made when a
                     book first appears) is answered from memory with pair_decimals=1, lot_decimals=8, and
                     its update callback is a no-op. It verifies update checksums only (not the snapshot's).
  decode only      - `loads_exact` and `json.loads` alone, to show how much of each is JSON decoding.

Both contenders' books must verify every checksum of every pass, or the run fails.

Each run times every contender for `--passes` passes, interleaved pass by pass (ours, library, SDK, ...),
so a run's contenders share the same machine conditions; the headline is the per-run ratio
(ours: component / python-kraken-sdk) over `--runs` runs: its median, and its range.

usage: python -m bench.book_throughput [--passes 10] [--runs 21] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import commit, machine, median, write_section
from tradingbot_components.kraken.book import OrderBook, loads_exact, parse_book_frame
from tradingbot_components.market_data import BookState, MarketState, PairPrecision, PrecisionSource

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "tests" / "unit" / "components" / "kraken" / "data" / "kraken-ws-v2-book-btcusd.json"
PRICE_DECIMALS, LOT_DECIMALS = 1, 8  # AssetPairs XXBTZUSD: pair_decimals, lot_decimals
# The code "ours" runs: a result names the commit, and says when this code differed from it.
MEASURED_PATHS = [
    "bench/book_throughput.py",
    "components/tradingbot_components/kraken/book.py",
    "components/tradingbot_components/kraken/book_frames.py",
    "components/tradingbot_components/market_data",
]
clock = time.thread_time
SDK = "python-kraken-sdk 3.5.1"  # the version pyproject's bench extra pins


def recorded_frames() -> list[str]:
    document = json.loads(RECORDING.read_text())
    return [json.dumps(document["init"]), *(json.dumps(frame) for frame in document["updates"])]


# -- contenders: each returns the seconds its timed loop took for one pass --------------------------


def ours_component(frames: list[str]) -> float:
    state = MarketState(["BTC/USD"])
    state.set_precisions({"BTC/USD": PairPrecision(PRICE_DECIMALS, LOT_DECIMALS, PrecisionSource.REST)})
    handle = state.handle
    started = clock()
    for raw in frames:
        if handle(loads_exact(raw)):
            raise AssertionError("our component asked to resync: a checksum did not verify")
    elapsed = clock() - started
    feed = state.feed("BTC/USD")
    assert feed.state is BookState.IN_SYNC and feed.updates == len(frames) - 1
    return elapsed


def ours_library(frames: list[str]) -> float:
    book = OrderBook("BTC/USD", 10, price_precision=PRICE_DECIMALS, qty_precision=LOT_DECIMALS)
    apply = book.apply
    started = clock()
    for raw in frames:
        for message in parse_book_frame(loads_exact(raw)):
            if not apply(message):
                raise AssertionError("our book: a checksum did not verify")
    elapsed = clock() - started
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
            started = clock()
            for raw in frames:
                await on_message(json.loads(raw))
            elapsed = clock() - started
            book = client.get("BTC/USD")
        finally:
            await client.close()
        if not book or not book["valid"]:
            raise AssertionError("python-kraken-sdk: a checksum did not verify")
        return elapsed

    return asyncio.run(drive())


def decode_exact(frames: list[str]) -> float:
    started = clock()
    for raw in frames:
        loads_exact(raw)
    return clock() - started


def decode_floats(frames: list[str]) -> float:
    started = clock()
    for raw in frames:
        json.loads(raw)
    return clock() - started


CONTENDERS: list[tuple[str, str, Callable[[list[str]], float]]] = [
    ("ours: component", "loads_exact + MarketState.handle", ours_component),
    ("ours: library", "loads_exact + parse_book_frame + OrderBook.apply", ours_library),
    (SDK, "json.loads + SpotOrderBookClient.on_message", python_kraken_sdk),
    ("decode only (exact)", "loads_exact", decode_exact),
    ("decode only (floats)", "json.loads", decode_floats),
]


def measure(frames: list[str], passes: int, runs: int) -> dict[str, list[float]]:
    """Messages per second of each contender, one value per run; contenders alternate pass by pass."""
    rates: dict[str, list[float]] = {name: [] for name, _, _ in CONTENDERS}
    for _ in range(runs):
        seconds = dict.fromkeys(rates, 0.0)
        for _ in range(passes):
            for name, _, contender in CONTENDERS:
                seconds[name] += contender(frames)
        for name, total in seconds.items():
            rates[name].append(passes * len(frames) / total)
    return rates


def quartiles(values: list[float]) -> tuple[float, float]:
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def report(rates: dict[str, list[float]], frames: int, passes: int, runs: int, load: str) -> str:
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
    # Contenders alternate pass by pass within a run, so a run's ratio shares that run's machine conditions.
    per_run = [a / b for a, b in zip(rates["ours: component"], rates[SDK], strict=True)]
    library = [a / b for a, b in zip(rates["ours: library"], rates[SDK], strict=True)]
    mid, low, high = median(per_run), min(per_run), max(per_run)
    q1, q3 = quartiles(per_run)
    spread = (
        "narrow"
        if (high - low) / mid <= 0.25
        else "wide (a busy machine: other processes' cache and memory traffic)"
    )
    return "\n".join(
        [
            "## Order-book throughput with checksum verification",
            "",
            f"Same input for all: the recorded Kraken WS v2 BTC/USD depth-10 stream ({frames} raw JSON frames: "
            f"1 snapshot + {frames - 1} updates), {runs} runs of {passes} passes each, every pass from a fresh "
            "book, contenders interleaved pass by pass. Timed per frame: JSON decoding plus everything the "
            "contender does with the frame (apply, sort/truncate, checksum), as CPU time of the benchmark "
            "thread. python-kraken-sdk "
            f"{sdk_version}'s `SpotOrderBookClient.on_message` is driven directly with the recorded frames "
            "(it has no offline mode; its one AssetPairs call is answered from memory, its callback is a "
            "no-op); it checks update checksums only, we also check the snapshot's. Every checksum verified "
            "in every pass for both. Prices and quantities stay exact `Decimal`s on our side.",
            "",
            f"**ours: component / python-kraken-sdk, same run: median {mid:.2f}x, range {low:.2f}x to "
            f"{high:.2f}x over {runs} runs** (quartiles {q1:.2f}x to {q3:.2f}x; the range is {spread}). "
            f"ours: library / python-kraken-sdk: median {median(library):.2f}x, range {min(library):.2f}x to "
            f"{max(library):.2f}x.",
            "",
            *rows,
            "",
            f"Commit {commit(*MEASURED_PATHS)}; machine: {machine()}; load average {load}.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=10, help="passes over the recording per run")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    frames = recorded_frames()
    for _, _, contender in CONTENDERS:  # warm up (imports, caches) and check correctness once
        contender(frames)
    before = os.getloadavg()[0]
    rates = measure(frames, args.passes, args.runs)
    load = f"{before:.1f} before, {os.getloadavg()[0]:.1f} after"
    for name, values in rates.items():
        print(
            f"{name}: median {median(values):,.0f} msg/s (stdev {statistics.pstdev(values):,.0f})", flush=True
        )
    markdown = report(rates, len(frames), args.passes, args.runs, load)
    print(markdown)
    if not args.no_write:
        write_section("book-throughput", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
