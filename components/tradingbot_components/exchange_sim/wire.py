"""How the simulator writes numbers, times and JSON: Kraken's decimal strings (REST), JSON numbers padded
to the pair's precision (WS v2, so book checksums can be recomputed from the text), RFC3339 times.

Pure helpers shared by the REST and WebSocket layers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any


class Num:
    """A JSON number written exactly as `text` (json.dumps would drop trailing zeros)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Num({self.text})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Num) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def fixed(value: Decimal, places: int) -> str:
    """`value` as decimal text with exactly `places` decimals (banker's rounding, as Kraken's engine)."""
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def num(value: Decimal | int, places: int) -> Num:
    return Num(fixed(Decimal(value), places))


def dumps(document: Any) -> str:
    """Compact JSON in which `Num` values are written verbatim."""
    if isinstance(document, Num):
        return document.text
    if isinstance(document, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in document.items()) + "}"
    if isinstance(document, Sequence) and not isinstance(document, str | bytes):
        return "[" + ",".join(dumps(item) for item in document) + "]"
    if isinstance(document, Decimal):
        return format(document, "f")
    return json.dumps(document, separators=(",", ":"))


def rfc3339(timestamp: float) -> str:
    """`2024-05-01T12:00:00.123456Z`, the WS v2 timestamp form."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc1123(timestamp: float) -> str:
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return moment.strftime("%a, %d %b %y %H:%M:%S +0000")


def rest_time(timestamp: float) -> float:
    """REST timestamps: Unix seconds with 4 decimals, as Kraken's `opentm`."""
    return round(timestamp, 4)


def envelope(result: Any = None, errors: Sequence[str] = ()) -> dict[str, Any]:
    """Kraken's REST answer: `{"error": [...], "result": {...}}` (no `result` on failure)."""
    if errors:
        return {"error": list(errors)}
    return {"error": [], "result": {} if result is None else result}
