"""What market data decides when a book stops verifying: resubscribe that pair (at once, then backing off),
ignore what was in flight, count it, open and close a gap, and reconnect when resubscribing does not help."""

from __future__ import annotations

import pytest

from tests.unit.components.market_data.conftest import RecordingSink
from tests.unit.components.market_data.frames import BookScript, Clock
from tradingbot_components.market_data import (
    BookState,
    MarketState,
    ResyncAction,
    ResyncPolicy,
    ResyncReason,
    plan_resync,
)


@pytest.mark.parametrize(
    ("failures", "action", "delay"),
    [
        (1, ResyncAction.RESUBSCRIBE, 0.0),
        (2, ResyncAction.RESUBSCRIBE, 0.0),
        (3, ResyncAction.RESUBSCRIBE, 0.5),
        (4, ResyncAction.RESUBSCRIBE, 1.0),
        (5, ResyncAction.RESUBSCRIBE, 2.0),
        (6, ResyncAction.RECONNECT, 0.0),
        (7, ResyncAction.RESUBSCRIBE, 8.0),
        (12, ResyncAction.RECONNECT, 0.0),
        (20, ResyncAction.RESUBSCRIBE, 30.0),
    ],
)
def test_plan_resync_backs_off_then_reconnects(failures: int, action: ResyncAction, delay: float) -> None:
    plan = plan_resync(failures, ResyncPolicy())
    assert (plan.action, plan.delay) == (action, delay)


def test_plan_resync_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="consecutive_failures"):
        plan_resync(0, ResyncPolicy())
    with pytest.raises(ValueError, match="base"):
        ResyncPolicy(base=0)


def in_sync_state(
    clock: Clock, sink: RecordingSink, *pairs: str
) -> tuple[MarketState, dict[str, BookScript]]:
    state = MarketState(list(pairs) or ["XBT/USD"], sink=sink, now=clock)
    scripts = {symbol: BookScript(symbol) for symbol in state.symbols}
    for script in scripts.values():
        assert state.handle(script.snapshot()) == []
    return state, scripts


def test_a_mismatch_resubscribes_only_that_pair_and_ignores_what_was_in_flight(sink: RecordingSink) -> None:
    clock = Clock()
    state, scripts = in_sync_state(clock, sink, "XBT/USD", "ETH/USD")
    btc, eth = scripts["BTC/USD"], scripts["ETH/USD"]
    assert state.handle(btc.touch(1)) == []

    clock.advance(1.0)
    resyncs = state.handle(btc.touch(2, corrupt=True))

    assert [(r.symbol, r.reason, r.plan.action, r.plan.delay) for r in resyncs] == [
        ("BTC/USD", ResyncReason.CHECKSUM_MISMATCH, ResyncAction.RESUBSCRIBE, 0.0)
    ]
    feed = state.feed("BTC/USD")
    assert state.feed("BTC/USD").state is BookState.RESYNCING and feed.book is None
    assert feed.failures[ResyncReason.CHECKSUM_MISMATCH] == 1
    assert state.feed("ETH/USD").state is BookState.IN_SYNC
    assert not state.all_in_sync()
    notice = sink.of_type("resync")[-1]
    assert (notice["pair"], notice["reason"]) == ("XBT/USD", "checksum_mismatch")

    # Updates still in flight from the old subscription are dropped, not applied or re-flagged.
    assert state.handle(btc.touch(3)) == []
    assert feed.ignored == 1 and feed.updates == 1
    assert state.handle(eth.touch(1)) == []

    clock.advance(0.25)
    assert state.handle(BookScript("BTC/USD").snapshot(mid=31000)) == []
    assert state.feed("BTC/USD").state is BookState.IN_SYNC and state.all_in_sync()
    assert feed.last_gap is not None
    assert (feed.last_gap.reason, feed.last_gap.seconds) == ("checksum_mismatch", 0.25)
    assert sink.of_type("gap")[-1]["seconds"] == 0.25
    assert sink.of_type("snapshot")[-1]["best_bid"] == ["31000.0", "1.50000000"]


def test_failures_in_a_row_back_off_and_a_verified_update_ends_the_streak(sink: RecordingSink) -> None:
    state, _ = in_sync_state(Clock(), sink)
    plans = []
    for n in range(6):
        script = BookScript()
        resyncs = state.handle(script.snapshot(corrupt=n > 0) if n else script.snapshot())
        resyncs = resyncs or state.handle(script.touch(n, corrupt=True))
        plans.append((resyncs[0].plan.action, resyncs[0].plan.delay))
    assert plans == [
        (ResyncAction.RESUBSCRIBE, 0.0),
        (ResyncAction.RESUBSCRIBE, 0.0),
        (ResyncAction.RESUBSCRIBE, 0.5),
        (ResyncAction.RESUBSCRIBE, 1.0),
        (ResyncAction.RESUBSCRIBE, 2.0),
        (ResyncAction.RECONNECT, 0.0),
    ]
    fresh = BookScript()
    assert state.handle(fresh.snapshot()) == []
    assert state.handle(fresh.touch(1)) == []
    assert state.feed("BTC/USD").consecutive_failures == 0
    assert state.handle(fresh.touch(2, corrupt=True))[0].plan.delay == 0.0


def test_a_malformed_book_frame_resyncs_the_pair_it_names(sink: RecordingSink) -> None:
    state, _ = in_sync_state(Clock(), sink)
    frame = {"channel": "book", "type": "update", "data": [{"symbol": "BTC/USD", "bids": "?", "asks": []}]}
    resyncs = state.handle(frame)
    assert [(r.symbol, r.reason) for r in resyncs] == [("BTC/USD", ResyncReason.BAD_FRAME)]
    assert state.bad_frames == 1


def test_frames_for_other_symbols_and_other_channels_are_ignored(sink: RecordingSink) -> None:
    state, _ = in_sync_state(Clock(), sink)
    assert state.handle(BookScript("ETH/USD").snapshot()) == []
    assert state.handle({"channel": "ohlc", "data": []}) == []
    assert state.symbols == ["BTC/USD"]


def test_a_disconnect_opens_a_gap_per_pair_that_its_next_snapshot_closes(sink: RecordingSink) -> None:
    clock = Clock()
    state, _ = in_sync_state(clock, sink, "XBT/USD", "ETH/USD")
    changes: list[bool] = []
    state._on_change = lambda: changes.append(state.all_in_sync())

    state.connection_lost()
    assert {f.state for f in state.feeds.values()} == {BookState.DISCONNECTED}
    assert [m["reason"] for m in sink.of_type("resync")] == ["disconnected", "disconnected"]
    clock.advance(2.0)
    state.subscribing()
    assert {f.state for f in state.feeds.values()} == {BookState.AWAITING_SNAPSHOT}
    clock.advance(0.5)
    state.handle(BookScript("BTC/USD").snapshot())
    clock.advance(0.5)
    state.handle(BookScript("ETH/USD").snapshot())

    gaps = {f.pair: (f.last_gap.reason, f.last_gap.seconds) for f in state.feeds.values() if f.last_gap}
    assert gaps == {"XBT/USD": ("disconnected", 2.5), "ETH/USD": ("disconnected", 3.0)}
    assert state.last_gap is not None and state.last_gap.pair == "ETH/USD"
    assert changes[-1] is True and changes[0] is False


def test_no_gap_before_a_pair_was_ever_valid(sink: RecordingSink) -> None:
    state = MarketState(["XBT/USD"], sink=sink)
    state.connection_lost()
    state.subscribing()
    state.handle(BookScript().snapshot())
    assert state.feed("XBT/USD").last_gap is None and sink.of_type("gap") == []
