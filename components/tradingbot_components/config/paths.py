"""Dotted paths into a config document (`trading.profit_target`): setting one value in a copy.

Purely computational. Whether the result is a valid document is the schema's business, not this module's:
an unknown or misplaced path is left for validation to refuse, with the same field path and reason as any
whole document would get.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


def with_value(document: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `document` with `path` set to `value` (sections made as needed)."""
    parts = path.split(".")
    if not path or any(not part for part in parts):
        raise ValueError(f"expected a dotted config path such as 'trading.profit_target', got {path!r}")
    result: dict[str, Any] = copy.deepcopy(dict(document))
    node = result
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = copy.deepcopy(value)
    return result
