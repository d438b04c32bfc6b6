"""Cross-check of the two WS v2 book models against Kraken, not against each other.

The clients' `kraken.book.OrderBook` and the simulator's own `exchange_sim.feed_book.FeedBook` are
written separately; here both must reproduce Kraken's published checksum example and every checksum of
a real Kraken recording (BTC/USD, depth 10: a snapshot and 509 updates), and hold the same levels after
every message. Expected values are Kraken's, never computed by either implementation.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradingbot_components.exchange_sim.feed_book import FeedBook, Level, book_checksum, checksum_digits
from tradingbot_components.kraken.book import (
    BookMessage,
    BookMessageType,
    OrderBook,
    PriceLevel,
    load_recording,
)

D = Decimal
# Kraken's "Book checksum (WebSocket v2)" page: the example book and its checksum.
DOCS_ASKS = (
    "45285.2/0.00100000 45286.4/1.54571953 45286.6/1.54571109 45289.6/1.54560911 45290.2/0.15890660 "
    "45291.8/1.54553491 45294.7/0.04454749 45296.1/0.35380000 45297.5/0.09945542 45299.5/0.18772827"
)
DOCS_BIDS = (
    "45283.5/0.10000000 45283.4/1.54582015 45282.1/0.10000000 45281.0/0.10000000 45280.3/1.54592586 "
    "45279.0/0.07990000 45277.6/0.03310103 45277.5/0.30000000 45277.3/1.54602737 45276.6/0.15445238"
)
DOCS_CHECKSUM = 3310070434
# The recording's pair: BTC/USD prices have 1 decimal, quantities 8 (its trailing zeros were lost when it
# was saved, so both books are told the precision).
PRICE_DECIMALS, QTY_DECIMALS = 1, 8


def docs_levels(text: str) -> list[Level]:
    return [Level(D(price), D(qty)) for price, qty in (item.split("/") for item in text.split())]


def test_the_docs_formatting_rule() -> None:
    # "45285.2" -> "452852"; "0.00100000" -> "000100000" -> "100000".
    assert checksum_digits(D("45285.2"), 1) == "452852"
    assert checksum_digits(D("0.00100000"), 8) == "100000"
    assert checksum_digits(D("0.001"), 8) == "100000"  # the same number, trailing zeros lost


def test_both_books_give_the_docs_checksum() -> None:
    asks, bids = docs_levels(DOCS_ASKS), docs_levels(DOCS_BIDS)
    assert book_checksum(asks, bids, 1, 8) == DOCS_CHECKSUM

    simulator_book = FeedBook(10, 1, 8)
    simulator_book.replace(reversed(bids), reversed(asks))  # order of arrival does not matter
    assert simulator_book.checksum() == DOCS_CHECKSUM

    client_book = OrderBook("BTC/USD", 10, price_precision=1, qty_precision=8)
    client_book.apply_snapshot(_client_message_of(asks, bids))
    assert client_book.checksum() == DOCS_CHECKSUM


def _client_message_of(asks: list[Level], bids: list[Level]) -> BookMessage:
    return BookMessage(
        "BTC/USD",
        BookMessageType.SNAPSHOT,
        tuple(PriceLevel(*level) for level in bids),
        tuple(PriceLevel(*level) for level in asks),
        DOCS_CHECKSUM,
    )


def _frames(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The recording read with the standard library (not the clients' decoder), numbers as Decimal."""
    document = json.loads(path.read_text(), parse_float=Decimal, parse_int=Decimal)
    (snapshot,) = document["init"]["data"]
    updates = [entry for frame in document["updates"] for entry in frame["data"]]
    return snapshot, updates


def _levels(entries: list[dict[str, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    return [(entry["price"], entry["qty"]) for entry in entries]


def test_the_simulators_book_verifies_every_checksum_of_the_recording(recording_path: Path) -> None:
    snapshot, updates = _frames(recording_path)
    assert len(updates) == 509
    book = FeedBook(10, PRICE_DECIMALS, QTY_DECIMALS)
    book.replace(_levels(snapshot["bids"]), _levels(snapshot["asks"]))
    assert book.checksum() == int(snapshot["checksum"])
    mismatches = []
    for index, update in enumerate(updates):
        book.apply(_levels(update["bids"]), _levels(update["asks"]))
        if book.checksum() != int(update["checksum"]):
            mismatches.append(index)
    assert mismatches == []
    assert len(book.bids()) == len(book.asks()) == 10  # truncated to the depth throughout


def test_the_clients_book_verifies_every_checksum_of_the_recording(recording_path: Path) -> None:
    recording = load_recording(recording_path)
    book = OrderBook("BTC/USD", 10, price_precision=PRICE_DECIMALS, qty_precision=QTY_DECIMALS)
    assert book.apply(recording.snapshot)
    mismatches = [index for index, update in enumerate(recording.updates) if not book.apply_update(update)]
    assert mismatches == [] and book.in_sync


def test_both_books_hold_the_same_levels_after_every_message(recording_path: Path) -> None:
    snapshot, updates = _frames(recording_path)
    recording = load_recording(recording_path)
    simulator_book = FeedBook(10, PRICE_DECIMALS, QTY_DECIMALS)
    simulator_book.replace(_levels(snapshot["bids"]), _levels(snapshot["asks"]))
    client_book = OrderBook("BTC/USD", 10, price_precision=PRICE_DECIMALS, qty_precision=QTY_DECIMALS)
    client_book.apply(recording.snapshot)
    for index, (update, message) in enumerate(zip(updates, recording.updates, strict=True)):
        simulator_book.apply(_levels(update["bids"]), _levels(update["asks"]))
        client_book.apply_update(message)
        assert [tuple(level) for level in client_book.bids()] == simulator_book.bids(), index
        assert [tuple(level) for level in client_book.asks()] == simulator_book.asks(), index
        assert client_book.checksum() == simulator_book.checksum() == message.checksum, index


@pytest.mark.parametrize("side", ["bids", "asks"])
def test_both_books_notice_a_level_that_is_off_by_one_lot(recording_path: Path, side: str) -> None:
    snapshot, updates = _frames(recording_path)
    first = updates[0]
    levels = {name: _levels(snapshot[name]) for name in ("bids", "asks")}
    price, qty = levels[side][3]
    levels[side][3] = (price, qty + D("0.00000001"))

    simulator_book = FeedBook(10, PRICE_DECIMALS, QTY_DECIMALS)
    simulator_book.replace(levels["bids"], levels["asks"])
    simulator_book.apply(_levels(first["bids"]), _levels(first["asks"]))
    assert simulator_book.checksum() != int(first["checksum"])

    recording = load_recording(recording_path)
    client_book = OrderBook("BTC/USD", 10, price_precision=PRICE_DECIMALS, qty_precision=QTY_DECIMALS)
    client_book.apply(_client_snapshot(recording.snapshot, side, 3))
    assert not client_book.apply_update(recording.updates[0])


def _client_snapshot(message: BookMessage, side: str, index: int) -> BookMessage:
    levels = list(getattr(message, side))
    price, qty = levels[index]
    levels[index] = PriceLevel(price, qty + D("0.00000001"))
    return msgspec.structs.replace(message, **{side: tuple(levels)})
