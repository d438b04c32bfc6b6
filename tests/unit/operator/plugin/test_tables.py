"""Tables and ages as kubectl prints them."""

from __future__ import annotations

import pytest

from tests.unit.operator.plugin.samples import NOW
from tradingbot_operator.plugin.tables import age, clip, human_duration, parse_timestamp, render_table


def test_columns_are_as_wide_as_their_widest_cell_and_lines_have_no_trailing_spaces() -> None:
    table = render_table(("NAME", "READY"), [["storage", "1/1"], ["balance-manager", ""]])
    assert table.splitlines() == [
        "NAME              READY",
        "storage           1/1",
        "balance-manager   -",
    ]


def test_empty_and_multiline_cells() -> None:
    assert render_table(("A", "B", "C"), [[None, "two\nlines", 0]]).splitlines()[1] == "-   two lines   0"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (200, "3m20s"),
        (300, "5m"),
        (42 * 60, "42m"),
        (5 * 3600 + 600, "5h10m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (120 * 86400, "120d"),
        (3 * 365 * 86400, "3y"),
        (-5, "0s"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_age_from_timestamps_with_and_without_fractions() -> None:
    assert age("2025-01-01T11:59:30Z", NOW) == "30s"
    assert age("2025-01-01T11:59:30.123456Z", NOW) == "29s"
    assert age(None, NOW) == "-"
    assert age("yesterday", NOW) == "-"
    assert parse_timestamp("2025-01-01T12:00:00") == NOW  # naive means UTC


def test_clip() -> None:
    assert clip("short", 10) == "short"
    assert clip("a" * 20, 10) == "aaaaaaa..."
