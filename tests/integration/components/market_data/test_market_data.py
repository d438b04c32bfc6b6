"""market-data against the exchange simulator, both real processes on 127.0.0.1: ready with verified
books, survives a dropped connection and corrupted checksums, and serves `/stream` subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.market_data.harness import (
    StreamReader,
    market_data,
    metric,
    start_market_data,
    wait_books_advance,
)
from tests.integration.components.process import ComponentRunner
from tests.support.sim import SimHandle
from tests.support.waiting import async_wait_until, wait_until

PAIRS = ["XBT/USD", "ETH/USD"]


def test_ready_with_verified_books_for_every_pair(
    components: ComponentRunner, sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = sim_factory(pairs=PAIRS)
    process = start_market_data(components, tmp_path, sim, PAIRS)
    state = wait_books_advance(process)

    assert state["connection"]["connected"] and state["connection"]["system_status"] == "online"
    assert set(state["pairs"]) == set(PAIRS)
    for pair, book in state["pairs"].items():
        assert book["book"] == "in_sync", pair
        assert book["resyncs"] == 0 and book["last_update_age"] < 5
        assert book["best_bid"] is not None and book["best_ask"] is not None
        assert float(book["best_bid"][0]) < float(book["best_ask"][0])
    # Precisions from the simulator's AssetPairs (pair_decimals, lot_decimals).
    assert state["pairs"]["XBT/USD"]["precision"] == {"price": 1, "qty": 8, "source": "rest"}
    assert state["pairs"]["ETH/USD"]["precision"] == {"price": 2, "qty": 8, "source": "rest"}
    assert metric(process, 'tradingbot_market_data_book_in_sync{pair="ETH/USD"}') == 1.0
    assert process.get("/readyz").status == 200


def test_survives_a_dropped_connection_and_reports_the_gap(
    components: ComponentRunner, sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = sim_factory(pairs=PAIRS)
    process = start_market_data(components, tmp_path, sim, PAIRS)
    wait_books_advance(process)

    assert sim.fault("drop_ws")["dropped"] == 1

    def reconnected() -> dict[str, Any] | None:
        state = market_data(process)
        return state if state["connection"]["reconnects"] == 1 and state["ready"] else None

    state = wait_until(reconnected, timeout=30, what="market-data to reconnect and resync")
    assert state["connection"]["attempts"] >= 2
    for pair in PAIRS:
        gap = state["pairs"][pair]["last_gap_by_reason"]["disconnected"]
        assert 0 < gap["seconds"] < 10, gap
        sample = f'tradingbot_market_data_last_gap_seconds{{pair="{pair}",reason="disconnected"}}'
        assert metric(process, sample) == pytest.approx(gap["seconds"], abs=1e-5)
    assert state["last_gap"]["reason"] == "disconnected"
    # Everything was subscribed again on the new connection: book, ticker and trade, twice each.
    assert sim.stats()["requests"]["ws:subscribe"] == 6
    assert sim.stats()["ws"]["connections_open"] == 1
    state = wait_books_advance(process)
    assert all(p["ticker_age"] is not None and p["ticker_age"] < 5 for p in state["pairs"].values())


def test_survives_corrupted_checksums(
    components: ComponentRunner, sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = sim_factory(pairs=PAIRS)
    process = start_market_data(components, tmp_path, sim, PAIRS)
    wait_books_advance(process)

    sim.fault("corrupt_checksum", count=3)

    def resynced() -> dict[str, Any] | None:
        if sim.control("faults")["corrupt_checksum_remaining"] != 0:
            return None
        state = market_data(process)
        mismatches = sum(p["checksum_mismatches"] for p in state["pairs"].values())
        return state if mismatches >= 1 and state["ready"] else None

    state = wait_until(resynced, timeout=30, what="the corrupted updates detected and resynced")
    # A corrupted update that arrives while its pair is already resyncing is dropped unseen, so 1..3.
    mismatches = sum(p["checksum_mismatches"] for p in state["pairs"].values())
    assert 1 <= mismatches <= 3
    assert state["connection"]["reconnects"] == 0  # resubscribing was enough
    assert state["connection"]["resubscribes"] == mismatches
    for pair, book in state["pairs"].items():
        assert book["resyncs"] == book["checksum_mismatches"], pair
        assert book["snapshots"] == 1 + book["resyncs"], pair
    total = sum(
        metric(process, f'tradingbot_market_data_checksum_mismatches_total{{pair="{pair}"}}') or 0
        for pair in PAIRS
    )
    assert total == mismatches
    logged = [e for e in process.logs() if "checksum mismatch" in e.get("message", "")]
    assert len(logged) == mismatches and all(e["level"] == "WARNING" for e in logged)
    wait_books_advance(process)  # verified updates keep coming on the fresh books


async def test_stream_subscriber_gets_snapshot_updates_and_gap_notices(
    components: ComponentRunner, sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = await asyncio.to_thread(sim_factory, pairs=PAIRS)
    process = await asyncio.to_thread(start_market_data, components, tmp_path, sim, PAIRS)
    reader = StreamReader(process.url("/stream").replace("http://", "ws://"))
    await reader.open({"subscribe": ["book", "ticker", "trade"], "pairs": ["XBT/USD"]})
    try:

        async def updates(count: int) -> bool:
            return len(reader.of("update", "book")) >= count and bool(reader.of("update", "ticker"))

        await async_wait_until(lambda: updates(3), timeout=20, what="book and ticker updates")
        first = reader.messages[:4]
        assert first[0] == {
            "type": "subscribed",
            "channels": ["book", "ticker", "trade"],
            "pairs": ["XBT/USD"],
        }
        assert [(m["type"], m["channel"]) for m in first[1:]] == [
            ("snapshot", "book"),
            ("snapshot", "ticker"),
            ("snapshot", "trade"),
        ]
        assert first[1]["state"] == "in_sync" and len(first[1]["bids"]) == 10
        assert {m["pair"] for m in reader.messages[1:]} == {"XBT/USD"}
        book = reader.of("update", "book")[-1]
        assert book["best_bid"] == book["bids"][0] and book["best_ask"] == book["asks"][0]

        await asyncio.to_thread(sim.fault, "drop_ws")

        async def gap_notice() -> bool:
            return bool(reader.of("gap")) and len(reader.of("snapshot", "book")) == 2

        await async_wait_until(
            gap_notice, timeout=30, what="a resync notice, a gap notice and a new snapshot"
        )
        kinds = [m["type"] for m in reader.messages]
        resync_at, gap_at = kinds.index("resync"), kinds.index("gap")
        assert resync_at < gap_at
        assert reader.messages[resync_at]["reason"] == "disconnected"
        assert reader.messages[gap_at]["pair"] == "XBT/USD" and reader.messages[gap_at]["seconds"] > 0
        assert reader.messages[gap_at + 1]["type"] == "snapshot"  # the fresh book follows the gap
    finally:
        await reader.close()
