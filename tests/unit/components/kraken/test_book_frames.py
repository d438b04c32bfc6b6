"""`loads_exact`: JSON decoded with every number's digits kept, as `json.loads(parse_float=Decimal)` would."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tradingbot_components.kraken.book_frames import exact_decimal, loads_exact

D = Decimal


def test_the_recording_decodes_to_the_values_of_the_standard_library(recording_path: Path) -> None:
    text = recording_path.read_text()
    assert loads_exact(text) == json.loads(text, parse_float=Decimal)
    assert loads_exact(text.encode()) == json.loads(text, parse_float=Decimal)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.00100000", D("0.00100000")),  # trailing zeros kept: the checksum needs them
        ("45283.5", D("45283.5")),
        ("-0.0", D("-0.0")),
        ("1e5", D("1E+5")),
        ("2.5E-7", D("2.5E-7")),
        ("12345678901234567890.123456789012345678901", D("12345678901234567890.123456789012345678901")),
    ],
)
def test_numbers_keep_their_digits(text: str, value: Decimal) -> None:
    decoded = loads_exact(f'{{"n": {text}, "i": 3}}')
    assert decoded == {"n": value, "i": 3}
    assert str(decoded["n"]) == str(value) and type(decoded["i"]) is int


def test_malformed_text_is_a_value_error() -> None:
    for text in ("{]", "", "NaN", b"\xff"):
        with pytest.raises(ValueError):
            loads_exact(text)


def test_other_decoders_numbers_become_the_decimals_they_were_written_as() -> None:
    assert exact_decimal(0.1) == D("0.1") and str(exact_decimal(4.0)) == "4.0"
    assert exact_decimal("0.00100000") == D("0.00100000") and exact_decimal(7) == D(7)
    with pytest.raises(TypeError, match="expected a number"):
        exact_decimal(None)
