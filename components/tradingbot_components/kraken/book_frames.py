"""The `book` channel's frames as they come off the wire: exact JSON decoding and typed messages.

`loads_exact` decodes a frame keeping every number's digits (`Decimal`s, never floats); `parse_book_frame`
turns a decoded frame into `BookMessage`s of `PriceLevel`s, and names the field when the frame is malformed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import msgspec


class PriceLevel(NamedTuple):
    price: Decimal
    qty: Decimal


class BookMessageType(enum.StrEnum):
    SNAPSHOT = "snapshot"
    UPDATE = "update"


class BookMessage(msgspec.Struct, frozen=True):
    """One entry of a `book` frame's `data` list: the levels that changed for one symbol.

    A frozen msgspec struct rather than a frozen dataclass: one is built per frame, several times faster."""

    symbol: str
    type: BookMessageType
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    checksum: int
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class BookRecording:
    """A recorded book stream: one snapshot and the updates that followed it."""

    snapshot: BookMessage
    updates: tuple[BookMessage, ...]


class BookFormatError(ValueError):
    """A `book` frame that does not have the documented shape."""


# loads_exact(text: str | bytes) -> Any: decode JSON keeping Kraken's numbers exact (every number with a
# fraction or exponent becomes a `Decimal` of the digits on the wire; integers stay ints). The same values
# as `json.loads(text, parse_float=Decimal)`, several times faster; malformed text raises
# `msgspec.DecodeError`, a `ValueError`. The decoder's own method, not a wrapper: it runs once per frame.
loads_exact: Callable[[str | bytes], Any] = msgspec.json.Decoder(float_hook=Decimal).decode


_KINDS = {kind.value: kind for kind in BookMessageType}
NO_LEVELS: tuple[PriceLevel, ...] = ()
# `PriceLevel(p, q)` goes through the named tuple's Python-level `__new__`; this is the same tuple, 2x faster.
_new_tuple = tuple.__new__


def exact_decimal(value: object) -> Decimal:
    """A price or quantity as a `Decimal` with the digits it was written with (floats by their shortest
    repr); TypeError for anything that is not a number."""
    if type(value) is Decimal:
        return value
    if isinstance(value, float):
        return Decimal(repr(value))  # shortest repr: the digits that were on the wire, minus trailing zeros
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"expected a number, got {value!r}")


def _levels(raw: Sequence[Mapping[str, Any]], entry: int, side: str) -> tuple[PriceLevel, ...]:
    try:
        levels = []
        for level in raw:
            price, qty = level["price"], level["qty"]
            # loads_exact already made them Decimals; anything else (str, int, float) is converted.
            levels.append(
                _new_tuple(
                    PriceLevel,
                    (
                        price if type(price) is Decimal else exact_decimal(price),
                        qty if type(qty) is Decimal else exact_decimal(qty),
                    ),
                )
            )
        return tuple(levels)
    except (KeyError, TypeError, ArithmeticError):
        pass
    # Slow path, only for bad input: find the offending field to name it.
    where = f"data[{entry}].{side}"
    if not isinstance(raw, list):
        raise BookFormatError(f"{where}: expected a list of {{price, qty}} levels")
    for index, level in enumerate(raw):
        for field in ("price", "qty"):
            try:
                exact_decimal(level[field])
            except KeyError:
                raise BookFormatError(f"{where}[{index}].{field}: missing") from None
            except (TypeError, ArithmeticError) as error:
                raise BookFormatError(f"{where}[{index}].{field}: {error}") from None
    raise BookFormatError(f"{where}: malformed levels")


def parse_book_frame(frame: Mapping[str, Any]) -> list[BookMessage]:
    """The typed messages of one decoded `book` frame (decode with `loads_exact`)."""
    if frame.get("channel") != "book":
        raise BookFormatError(f"channel: expected 'book', got {frame.get('channel')!r}")
    try:
        kind = _KINDS[frame.get("type")]  # type: ignore[index]
    except (KeyError, TypeError):
        raise BookFormatError(f"type: expected 'snapshot' or 'update', got {frame.get('type')!r}") from None
    data = frame.get("data")
    if not isinstance(data, list):
        raise BookFormatError("data: expected a list of book entries")
    messages: list[BookMessage] = []
    for index, entry in enumerate(data):
        try:
            symbol = entry["symbol"]
            # Most updates change one side only: skip the call for an empty list.
            bids = entry["bids"]
            bids = _levels(bids, index, "bids") if bids or type(bids) is not list else NO_LEVELS
            asks = entry["asks"]
            asks = _levels(asks, index, "asks") if asks or type(asks) is not list else NO_LEVELS
            checksum = entry["checksum"]
            messages.append(
                BookMessage(
                    symbol,
                    kind,
                    bids,
                    asks,
                    checksum if type(checksum) is int else int(checksum),
                    entry.get("timestamp"),
                )
            )
        except KeyError as error:
            raise BookFormatError(f"data[{index}].{error.args[0]}: missing") from None
        except (TypeError, ValueError) as error:
            if isinstance(error, BookFormatError):
                raise
            raise BookFormatError(f"data[{index}]: {error}") from None
    return messages


def load_recording(path: str | Path) -> BookRecording:
    """Load a recording shaped like `{"init": <snapshot frame>, "updates": [<update frame>, ...]}`."""
    document = loads_exact(Path(path).read_bytes())
    try:
        (snapshot,) = parse_book_frame(document["init"])
        updates = tuple(message for frame in document["updates"] for message in parse_book_frame(frame))
    except (KeyError, ValueError) as error:
        raise BookFormatError(f"{path}: not a book recording ({error})") from None
    return BookRecording(snapshot=snapshot, updates=updates)
