"""Plain-text tables and ages the way kubectl prints them: upper-case headers, columns padded by spaces.

Pure: the current time is an argument, never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

EMPTY = "-"
GAP = "   "


def cell(value: object) -> str:
    """One table cell: empty values print as "-", newlines are flattened."""
    if value is None or value == "":
        return EMPTY
    return " ".join(str(value).split())


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns as wide as their widest cell; the last column is not padded (no trailing spaces)."""
    cells = [[cell(h) for h in headers], *([cell(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    lines = []
    for line in cells:
        padded = [text.ljust(widths[i]) for i, text in enumerate(line[:-1])] + [line[-1]]
        lines.append(GAP.join(padded).rstrip())
    return "\n".join(lines)


def parse_timestamp(text: str | None) -> datetime | None:
    """RFC 3339 as Kubernetes writes it ("2024-05-01T12:00:00Z", fractions allowed); None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """Coarser as it grows, like kubectl's AGE: 45s, 3m20s, 42m, 5h10m, 30h, 3d4h, 120d, 3y."""
    s = max(int(seconds), 0)
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def age(timestamp: str | None, now: datetime) -> str:
    """Time since `timestamp`, or "-" when there is none."""
    moment = parse_timestamp(timestamp)
    return human_duration((now - moment).total_seconds()) if moment else EMPTY
