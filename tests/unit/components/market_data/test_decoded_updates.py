"""A one-symbol `update` frame goes straight from `loads_exact`'s dicts into the book (no `BookMessage`s):
for every frame, well-formed or not, the outcome is the one the general path (parse, then apply) gives."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.components.market_data.conftest import RecordingSink
from tests.unit.components.market_data.frames import BookScript
from tradingbot_components.market_data import BookState, MarketState, ResyncReason, market_state

D = Decimal


class GeneralPath(list[Any]):
    """A `data` list that is not exactly a `list`: MarketState then parses the frame before applying it,
    the way it handles any frame other than a plain one-symbol update. The reference for the fast path."""


def general(frame: dict[str, Any]) -> dict[str, Any]:
    return {**frame, "data": GeneralPath(frame["data"])}


def outcome(state: MarketState, sink: RecordingSink) -> dict[str, Any]:
    feed = state.feed("BTC/USD")
    return {
        "state": feed.state,
        "counters": (feed.updates, feed.snapshots, feed.ignored, feed.consecutive_failures, state.bad_frames),
        "failures": dict(feed.failures),
        "checksum": feed.checksum,
        "book": None if feed.book is None else (feed.book.bids(), feed.book.asks(), feed.book.checksum()),
        "published": sink.messages,
    }


def two_states() -> tuple[tuple[MarketState, RecordingSink], tuple[MarketState, RecordingSink]]:
    states = []
    for _ in range(2):
        sink = RecordingSink()
        states.append((MarketState(["BTC/USD"], sink=sink, now=lambda: 0.0), sink))
    return states[0], states[1]


# Ways a frame can differ from a well-formed one: values another decoder would give (converted the same
# way by both paths), and damage (rejected the same way, even when it comes after a level that applied).
MUTATIONS = [
    "none",
    "str numbers",
    "int qty",
    "float price",
    "str checksum",
    "no checksum",
    "no qty",
    "bad price",
    "bids not a list",
    "level not an object",
    "no symbol",
]


def mutate(frame: dict[str, Any], how: str) -> dict[str, Any]:
    frame = copy.deepcopy(frame)
    entry = frame["data"][0]
    levels = entry["bids"] or entry["asks"]
    last = levels[-1] if levels else None
    if how == "str numbers" and last is not None:
        last["price"], last["qty"] = str(last["price"]), str(last["qty"])
    elif how == "int qty" and last is not None:
        last["qty"] = int(last["qty"])
    elif how == "float price" and last is not None:
        last["price"] = float(last["price"])
    elif how == "str checksum":
        entry["checksum"] = str(entry["checksum"])
    elif how == "no checksum":
        del entry["checksum"]
    elif how == "no qty" and last is not None:
        del last["qty"]
    elif how == "bad price" and last is not None:
        last["price"] = "x"
    elif how == "bids not a list":
        entry["bids"] = None
    elif how == "level not an object" and levels:
        levels[-1] = [1, 2]
    elif how == "no symbol":
        del entry["symbol"]
    return frame


prices = st.integers(min_value=29990, max_value=30010).map(str)
quantities = st.sampled_from(["0", "0", "0.5", "1.25", "3", "0.00000001"])
changes = st.lists(st.tuples(prices, quantities), max_size=3)
steps = st.tuples(
    st.sampled_from(["update", "update", "update", "snapshot"]),
    changes,
    changes,
    st.sampled_from(MUTATIONS),
    st.booleans(),  # a wrong checksum
)


@settings(max_examples=120, deadline=None)
@given(script_steps=st.lists(steps, min_size=1, max_size=25))
def test_every_frame_has_the_outcome_of_the_general_path(
    script_steps: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]], str, bool]],
) -> None:
    (fast, fast_sink), (reference, reference_sink) = two_states()
    script = BookScript("BTC/USD")
    snapshot = script.snapshot(mid=30000)
    assert fast.handle(snapshot) == reference.handle(general(snapshot)) == []
    for kind, bids, asks, how, corrupt in script_steps:
        if kind == "snapshot":
            frame = script.snapshot(mid=30000, corrupt=corrupt)
        else:
            # Bids below the asks, as on an exchange: shift the drawn prices onto each side.
            frame = script.update(
                [(str(int(p) - 20), q) for p, q in bids],
                [(str(int(p) + 20), q) for p, q in asks],
                corrupt=corrupt,
            )
        frame = mutate(frame, how)
        assert fast.handle(frame) == reference.handle(general(frame))
        assert outcome(fast, fast_sink) == outcome(reference, reference_sink)


def test_a_frame_damaged_after_a_level_applied_drops_the_book_like_any_bad_frame() -> None:
    (state, sink), _ = two_states()
    script = BookScript("BTC/USD")
    assert state.handle(script.snapshot()) == []
    frame = script.update([("30000.2", "1.5")], [("30010.5", "2")])
    del frame["data"][0]["asks"][0]["qty"]  # the bids apply before the asks turn out to be malformed

    (resync,) = state.handle(frame)

    feed = state.feed("BTC/USD")
    assert resync.reason is ResyncReason.BAD_FRAME
    assert (feed.state, feed.book, feed.updates, state.bad_frames) == (BookState.RESYNCING, None, 0, 1)
    assert sink.of_type("resync")[-1]["detail"] == "data[0].asks[0].qty: missing"
    assert state.handle(script.snapshot()) == []  # a fresh snapshot makes it whole again
    assert feed.state is BookState.IN_SYNC


def test_a_well_formed_update_is_applied_without_parsing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    (state, _), _ = two_states()
    script = BookScript("BTC/USD")
    assert state.handle(script.snapshot()) == []

    def no_parsing(frame: Any) -> Any:
        raise AssertionError("the fast path parsed the frame")

    monkeypatch.setattr(market_state, "parse_book_frame", no_parsing)
    assert state.handle(script.update([("30000.2", "1.5")], [("30001.5", "0")])) == []
    feed = state.feed("BTC/USD")
    assert feed.updates == 1 and feed.book is not None
    assert feed.book.bids(1) == [(D("30000.2"), D("1.50000000"))]
    assert D("30001.5") not in [level.price for level in feed.book.asks()]
