"""Every message of the shared Kraken recording verifies through market data's own frame-handling path:
wire text -> `loads_exact` -> `MarketState.handle`, as the exchange client does it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.components.market_data.conftest import RecordingSink
from tradingbot_components.kraken.book import loads_exact
from tradingbot_components.market_data import BookState, MarketState, PairPrecision, PrecisionSource
from tradingbot_components.market_data.stream_messages import Channel


def wire_frames(path: Path) -> list[str]:
    """The recording as the frames a socket would deliver (floats re-serialised as they were saved)."""
    document = json.loads(path.read_text())
    return [json.dumps(document["init"]), *(json.dumps(frame) for frame in document["updates"])]


@pytest.mark.parametrize("precision_from", ["rest", "snapshot"])
def test_every_recorded_update_verifies(recording_path: Path, precision_from: str) -> None:
    sink = RecordingSink({Channel.BOOK})
    state = MarketState(["XBT/USD"], sink=sink)
    if precision_from == "rest":
        # What AssetPairs says for XXBTZUSD; the recording lost trailing zeros, so this is needed.
        state.set_precisions({"BTC/USD": PairPrecision(1, 8, PrecisionSource.REST)})
    frames = wire_frames(recording_path)

    for raw in frames:
        assert state.handle(loads_exact(raw)) == [], f"resync requested at {raw[:120]}"

    feed = state.feed("XBT/USD")
    assert feed.state is BookState.IN_SYNC
    assert (feed.updates, feed.snapshots, feed.resyncs, feed.ignored) == (509, 1, 0, 0)
    assert feed.precision_used is not None and (feed.precision_used.price, feed.precision_used.qty) == (1, 8)
    assert feed.precision_used.source is PrecisionSource(precision_from)
    last = json.loads(frames[-1])["data"][0]["checksum"]
    assert feed.book is not None and feed.book.checksum() == feed.checksum == last
    # Each verified message reached the stream: one snapshot, then one complete update per message.
    assert [m["type"] for _, _, m in sink.messages] == ["snapshot"] + ["update"] * 509
    assert sink.messages[-1][2]["checksum"] == last
    assert len(sink.messages[-1][2]["bids"]) == len(sink.messages[-1][2]["asks"]) == 10


def test_a_wrong_precision_is_caught_by_the_checksum(recording_path: Path) -> None:
    state = MarketState(["BTC/USD"])
    state.set_precisions({"BTC/USD": PairPrecision(2, 8, PrecisionSource.REST)})
    resyncs = state.handle(loads_exact(wire_frames(recording_path)[0]))
    assert [r.symbol for r in resyncs] == ["BTC/USD"]
    assert state.feed("BTC/USD").state is BookState.RESYNCING
