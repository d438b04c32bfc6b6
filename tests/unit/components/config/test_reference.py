"""docs/configuration.md carries the field table generated from the schema, unchanged."""

from __future__ import annotations

from pathlib import Path

from tradingbot_components.config.reference import field_table
from tradingbot_components.config.schema import field_policies

DOC = Path(__file__).resolve().parents[4] / "docs" / "configuration.md"


def test_the_documented_field_table_matches_the_schema() -> None:
    text = DOC.read_text()
    begin, end = "<!-- BEGIN GENERATED FIELD TABLE -->\n", "<!-- END GENERATED FIELD TABLE -->"
    documented = text[text.index(begin) + len(begin) : text.index(end)]
    assert documented == field_table(), "regenerate: python -m tradingbot_components.config.reference"


def test_the_table_has_a_row_per_field_and_hides_secret_defaults() -> None:
    table = field_table()
    for path, policy in field_policies().items():
        (row,) = [line for line in table.splitlines() if line.startswith(f"| `{path}` |")]
        assert f"| {policy.reload} |" in row
        if policy.secret:
            assert "(secret)" in row
