"""Components' own process settings from the environment: typed by their defaults, errors name the variable."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tradingbot_components.config.process_settings import read_process_settings


@dataclass(frozen=True)
class Knobs:
    timeout: float = 10.0
    dust: Decimal = Decimal("0.00001")


def test_unset_and_blank_variables_keep_the_defaults() -> None:
    assert read_process_settings(Knobs, "X_", {"X_TIMEOUT": "  "}) == Knobs()


def test_seconds_and_amounts_are_parsed_exactly() -> None:
    knobs = read_process_settings(Knobs, "X_", {"X_TIMEOUT": "2.5", "X_DUST": "0.1"})
    assert knobs == Knobs(2.5, Decimal("0.1"))


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"X_TIMEOUT": "soon"}, "X_TIMEOUT: expected a number of seconds, got 'soon'"),
        ({"X_TIMEOUT": "0"}, "X_TIMEOUT: must be a finite number > 0"),
        ({"X_TIMEOUT": "inf"}, "X_TIMEOUT: must be a finite number > 0"),
        ({"X_DUST": "-1"}, "X_DUST: must be a finite amount >= 0"),
        ({"X_DUST": "a lot"}, "X_DUST: expected a decimal amount"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_process_settings(Knobs, "X_", environ)
