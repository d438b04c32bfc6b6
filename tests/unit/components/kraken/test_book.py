"""The WS v2 order book: Kraken's checksum vectors, the recorded stream, truncation and corruption."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradingbot_components.kraken.book import (
    BookError,
    BookFormatError,
    BookMessage,
    BookMessageType,
    ChecksumMismatch,
    OrderBook,
    PriceLevel,
    load_recording,
    loads_exact,
    parse_book_frame,
)

D = Decimal


def levels(text: str) -> tuple[PriceLevel, ...]:
    """'45285.2/0.00100000, ...' -> price levels, digits exactly as written."""
    return tuple(PriceLevel(D(p), D(q)) for p, q in (pair.split("/") for pair in text.split(", ")))


DOCS_ASKS = levels(
    "45285.2/0.00100000, 45286.4/1.54571953, 45286.6/1.54571109, 45289.6/1.54560911, 45290.2/0.15890660, "
    "45291.8/1.54553491, 45294.7/0.04454749, 45296.1/0.35380000, 45297.5/0.09945542, 45299.5/0.18772827"
)
DOCS_BIDS = levels(
    "45283.5/0.10000000, 45283.4/1.54582015, 45282.1/0.10000000, 45281.0/0.10000000, 45280.3/1.54592586, "
    "45279.0/0.07990000, 45277.6/0.03310103, 45277.5/0.30000000, 45277.3/1.54602737, 45276.6/0.15445238"
)


def snapshot(bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...], checksum: int = 0) -> BookMessage:
    return BookMessage("BTC/USD", BookMessageType.SNAPSHOT, bids, asks, checksum)


def update(
    bids: tuple[PriceLevel, ...] = (), asks: tuple[PriceLevel, ...] = (), checksum: int = 0
) -> BookMessage:
    return BookMessage("BTC/USD", BookMessageType.UPDATE, bids, asks, checksum)


def recorded_book(depth: int = 10) -> OrderBook:
    return OrderBook("BTC/USD", depth, price_precision=1, qty_precision=8)


def test_docs_checksum_vector() -> None:
    book = OrderBook("BTC/USD")
    assert book.apply(snapshot(DOCS_BIDS, DOCS_ASKS, checksum=3310070434))
    assert book.checksum() == 3310070434
    text = book.checksum_text()
    assert len(text) == 281
    assert text.startswith("452852100000" + "452864154571953")  # "45285.2" -> 452852, "0.00100000" -> 100000


def test_every_update_of_the_recording_verifies(recording_path: Path) -> None:
    recording = load_recording(recording_path)
    assert len(recording.updates) == 509
    book = recorded_book()
    assert book.apply(recording.snapshot)
    assert book.checksum() == 2785033588
    mismatches = [i for i, message in enumerate(recording.updates) if not book.apply_update(message)]
    assert mismatches == []
    assert book.in_sync
    assert len(book.bids()) == len(book.asks()) == 10


def test_a_corrupted_update_is_detected(recording_path: Path) -> None:
    recording = load_recording(recording_path)
    book = recorded_book()
    book.apply(recording.snapshot)
    genuine = recording.updates[0]
    first = genuine.asks[0]
    tampered = BookMessage(
        genuine.symbol,
        genuine.type,
        genuine.bids,
        (PriceLevel(first.price, first.qty + D("0.00000001")), *genuine.asks[1:]),
        genuine.checksum,
    )
    assert not book.apply_update(tampered)
    assert not book.in_sync
    with pytest.raises(ChecksumMismatch) as caught:
        book.apply_checked(recording.updates[1])  # the book is now off for every later update too
    assert caught.value.expected == recording.updates[1].checksum
    assert caught.value.actual == book.checksum()
    assert "resubscribe" in str(caught.value)
    assert book.apply(recording.snapshot) and book.in_sync  # a fresh snapshot recovers


def test_precision_matters_when_trailing_zeros_were_lost(recording_path: Path) -> None:
    recording = load_recording(recording_path)
    book = OrderBook("BTC/USD")  # digits as parsed: "0.001" instead of "0.00100000"
    assert not book.apply(recording.snapshot)


def test_float_parsed_messages_verify_with_the_pair_precision(recording_path: Path) -> None:
    raw = json.loads(recording_path.read_text())  # plain floats, as a careless client would parse
    book = recorded_book()
    (first,) = parse_book_frame(raw["init"])
    assert book.apply(first)
    assert all(book.apply(message) for frame in raw["updates"] for message in parse_book_frame(frame))


def test_depth_truncation_drops_levels_beyond_the_subscription() -> None:
    book = OrderBook("BTC/USD", 10)
    book.apply(snapshot(DOCS_BIDS, DOCS_ASKS))
    better_bid = PriceLevel(D("45284.0"), D("1.00000000"))
    worse_ask = PriceLevel(D("45400.0"), D("1.00000000"))
    book.apply_update(update(bids=(better_bid,), asks=(worse_ask,)))
    assert book.bids()[0] == better_bid
    assert len(book.bids()) == 10
    assert book.bids()[-1] == DOCS_BIDS[-2]  # the old 10th bid fell off
    assert worse_ask not in book.asks()  # beyond depth as soon as it arrived
    book.apply_update(update(bids=(PriceLevel(better_bid.price, D(0)),)))  # delete
    assert len(book.bids()) == 9  # the truncated level does not come back by itself


def test_deeper_books_still_checksum_the_top_ten() -> None:
    book = OrderBook("BTC/USD", 25)
    extra_asks = tuple(PriceLevel(D(45300 + i), D("1.00000000")) for i in range(15))
    book.apply(snapshot(DOCS_BIDS, DOCS_ASKS + extra_asks))
    assert len(book.asks()) == 25
    assert book.checksum() == 3310070434


def test_best_prices_and_deletes_of_unknown_levels() -> None:
    book = OrderBook("BTC/USD")
    book.apply(snapshot(DOCS_BIDS, DOCS_ASKS))
    book.apply_update(update(asks=(PriceLevel(D("1.0"), D(0)),)))  # deleting a level we never had
    assert book.best_bid() == DOCS_BIDS[0]
    assert book.best_ask() == DOCS_ASKS[0]
    assert book.asks(3) == list(DOCS_ASKS[:3])
    assert OrderBook("BTC/USD").best_bid() is None


def test_misuse_is_explained() -> None:
    book = OrderBook("BTC/USD")
    with pytest.raises(BookError, match="before its snapshot; subscribe with snapshot=true"):
        book.apply_update(update())
    with pytest.raises(ValueError, match="ETH/USD applied to the BTC/USD book"):
        book.apply(BookMessage("ETH/USD", BookMessageType.SNAPSHOT, (), (), 0))
    with pytest.raises(ValueError, match=r"depth must be one of \[10, 25, 100, 500, 1000\]"):
        OrderBook("BTC/USD", depth=15)


def test_frames_are_parsed_exactly_and_bad_ones_name_the_field() -> None:
    frame = loads_exact(
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,'
        '"qty":0.10000000}],"asks":[],"checksum":1,"timestamp":"2023-07-30T15:29:58.343415Z"}]}'
    )
    (message,) = parse_book_frame(frame)
    assert message.bids == (PriceLevel(D("45283.5"), D("0.10000000")),)
    assert str(message.bids[0].qty) == "0.10000000"
    assert message.timestamp == "2023-07-30T15:29:58.343415Z"
    del frame["data"][0]["checksum"]
    with pytest.raises(BookFormatError, match=r"data\[0\]\.checksum: missing"):
        parse_book_frame(frame)
    frame["data"][0]["checksum"] = 1
    frame["data"][0]["bids"].append({"price": "x", "qty": 1})
    with pytest.raises(BookFormatError, match=r"data\[0\]\.bids\[1\]\.price: "):
        parse_book_frame(frame)
    del frame["data"][0]["bids"][1]["price"]
    with pytest.raises(BookFormatError, match=r"data\[0\]\.bids\[1\]\.price: missing"):
        parse_book_frame(frame)
    with pytest.raises(BookFormatError, match="channel: expected 'book'"):
        parse_book_frame({"channel": "ticker"})


def test_a_file_that_is_not_a_recording_is_named(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"updates": []}')
    with pytest.raises(BookFormatError, match=r"other\.json: not a book recording"):
        load_recording(path)


# A reference book built the slow, obvious way: the fast one must agree with it on every step.
prices = st.integers(min_value=1, max_value=60).map(lambda tick: D(tick) / 2)
quantities = st.sampled_from([D(0), D(0), D("0.5"), D("1.25"), D("3")])
side_changes = st.lists(st.tuples(prices, quantities).map(lambda pq: PriceLevel(*pq)), max_size=6)


def reference_side(
    book: dict[Decimal, Decimal], changes: tuple[PriceLevel, ...], best_high: bool, depth: int
) -> None:
    for price, qty in changes:
        if qty == 0:
            book.pop(price, None)
        else:
            book[price] = qty
    for price in sorted(book, reverse=best_high)[depth:]:
        del book[price]


@settings(max_examples=150)
@given(steps=st.lists(st.tuples(side_changes, side_changes), min_size=1, max_size=40))
def test_incremental_book_matches_a_naive_model(
    steps: list[tuple[list[PriceLevel], list[PriceLevel]]],
) -> None:
    book = OrderBook("BTC/USD", 10)
    book.apply(snapshot((), ()))
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for bid_changes, ask_changes in steps:
        book.apply_update(update(tuple(bid_changes), tuple(ask_changes)))
        reference_side(bids, tuple(bid_changes), best_high=True, depth=10)
        reference_side(asks, tuple(ask_changes), best_high=False, depth=10)
        assert book.bids() == [PriceLevel(p, bids[p]) for p in sorted(bids, reverse=True)]
        assert book.asks() == [PriceLevel(p, asks[p]) for p in sorted(asks)]


def test_decoded_updates_apply_like_parsed_ones(recording_path: Path) -> None:
    """`apply_decoded_update` (market data's hot path) ends every step where `apply_update` does."""
    document = loads_exact(recording_path.read_bytes())
    fast, parsed = recorded_book(), recorded_book()
    (first,) = parse_book_frame(document["init"])
    assert fast.apply(first) and parsed.apply(first)
    for frame in document["updates"]:
        (entry,) = frame["data"]
        (message,) = parse_book_frame(frame)
        assert fast.apply_decoded_update(entry) is True
        assert parsed.apply_update(message)
        assert (fast.bids(), fast.asks(), fast.checksum()) == (
            parsed.bids(),
            parsed.asks(),
            parsed.checksum(),
        )
    assert fast.in_sync


def test_decoded_updates_convert_other_decoders_numbers_and_defer_odd_entries() -> None:
    book = OrderBook("BTC/USD", 10, price_precision=1, qty_precision=8)
    book.apply(snapshot(DOCS_BIDS, DOCS_ASKS, checksum=3310070434))
    before = (book.bids(), book.asks())
    entry = {"symbol": "BTC/USD", "bids": [], "asks": [], "checksum": "3310070434"}
    assert book.apply_decoded_update(entry) is None  # a str checksum: parse_book_frame's to convert
    entry = {"symbol": "BTC/USD", "bids": None, "asks": [], "checksum": 3310070434}
    assert book.apply_decoded_update(entry) is None
    assert (book.bids(), book.asks()) == before
    # Numbers as json.loads (float), a str or an int: the Decimals parse_book_frame would make.
    bids = [{"price": 45284.5, "qty": "2.50000000"}, {"price": "45283.5", "qty": 0}]
    entry = {"symbol": "BTC/USD", "bids": bids, "asks": [], "checksum": 0}
    assert book.apply_decoded_update(entry) is False  # made-up checksum; the levels still applied
    assert book.bids(2) == [PriceLevel(D("45284.5"), D("2.50000000")), DOCS_BIDS[1]]
    assert all(type(value) is Decimal for level in book.bids() for value in level)
    with pytest.raises(ArithmeticError):
        book.apply_decoded_update({**entry, "bids": [{"price": "x", "qty": 1}]})
    with pytest.raises(BookError, match="before its snapshot"):
        OrderBook("BTC/USD").apply_decoded_update(entry)
    with pytest.raises(ValueError, match="ETH/USD applied to the BTC/USD book"):
        book.apply_decoded_update({**entry, "symbol": "ETH/USD"})
