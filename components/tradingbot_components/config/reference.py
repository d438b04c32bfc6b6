"""The config field reference for docs/configuration.md, generated from the schema so it cannot drift.

`python -m tradingbot_components.config.reference` prints the table; a unit test checks the doc holds it.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel

from tradingbot_components.config.env import variable_name
from tradingbot_components.config.schema import BotConfig, Reload, field_policies


def _field(path: str) -> tuple[object, str]:
    model: type[BaseModel] = BotConfig
    *sections, leaf = path.split(".")
    for section in sections:
        model = model.model_fields[section].annotation  # type: ignore[assignment]
    info = model.model_fields[leaf]
    description = re.sub(r" \((hot|restart): [^)]*\)$", "", info.description or "")
    return info.get_default(call_default_factory=True), description


def field_table() -> str:
    """A Markdown table: path, environment variable, default, reload policy, readers, description."""
    rows = [
        "| field | environment variable | default | reload | restarts | description |",
        "|---|---|---|---|---|---|",
    ]
    for path, policy in field_policies().items():
        default, description = _field(path)
        shown = "(secret)" if policy.secret else f"`{json.dumps(default)}`"
        restarts = ", ".join(sorted(policy.readers)) if policy.reload is Reload.RESTART else "-"
        rows.append(
            f"| `{path}` | `{variable_name(path)}` | {shown} | {policy.reload} | {restarts} | {description} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(field_table(), end="")
