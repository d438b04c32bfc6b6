"""What changed between two validated config documents, and what may be shown of one.

Purely computational: leaf diffs in schema order, restart-policy fields that differ from what the process
started with, and redaction of secret fields for anything exported (HTTP, logs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tradingbot_components.config.schema import (
    COMPONENT_NAMES,
    BotConfig,
    FieldPolicy,
    Reload,
    field_policies,
)

REDACTED = "***"
POLICIES: Mapping[str, FieldPolicy] = field_policies()
SECRET_PATHS: frozenset[str] = frozenset(path for path, policy in POLICIES.items() if policy.secret)


@dataclass(frozen=True)
class Change:
    """One leaf field that changed; `old`/`new` are the real values (redact before showing them)."""

    path: str
    old: Any
    new: Any

    @property
    def policy(self) -> FieldPolicy:
        return POLICIES[self.path]

    def shown(self) -> dict[str, Any]:
        """The change as it may appear in logs: secret values replaced by `***`."""
        return {"path": self.path, "old": show(self.path, self.old), "new": show(self.path, self.new)}


@dataclass(frozen=True)
class FieldError:
    """Why a document was rejected, at one field path (`trading.profit_target`, `trading.pairs[0]`)."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


def leaves(config: BotConfig) -> dict[str, Any]:
    """Every leaf field by dotted path, in schema order."""
    dumped = config.model_dump()
    result: dict[str, Any] = {}
    for path in POLICIES:
        node: Any = dumped
        for part in path.split("."):
            node = node[part]
        result[path] = node
    return result


def diff(old: BotConfig, new: BotConfig) -> list[Change]:
    """The leaf fields whose values differ, in schema order."""
    before, after = leaves(old), leaves(new)
    return [Change(path, before[path], after[path]) for path in POLICIES if before[path] != after[path]]


def restart_required(baseline: BotConfig, current: BotConfig, component: str | None) -> frozenset[str]:
    """Restart-policy fields this component reads whose value differs from the one it started with.

    A component outside the built-in catalog (custom, or unnamed) is assumed to read every field.
    """
    reads_all = component not in COMPONENT_NAMES
    return frozenset(
        change.path
        for change in diff(baseline, current)
        if change.policy.reload is Reload.RESTART and (reads_all or component in change.policy.readers)
    )


def show(path: str, value: Any) -> Any:
    """`value` as it may be exported: secrets that are set become `***`."""
    return REDACTED if path in SECRET_PATHS and value is not None else value


def redacted(config: BotConfig) -> dict[str, Any]:
    """The whole document as JSON-able data with secret fields redacted."""
    document = config.model_dump(mode="json")
    for path in SECRET_PATHS:
        *parents, leaf = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        node[leaf] = show(path, node[leaf])
    return document


def field_errors(error: ValidationError, env_variables: Mapping[str, str] | None = None) -> list[FieldError]:
    """pydantic's errors as field paths and reasons (never the offending input: it may be a secret).

    `env_variables` maps a path to the environment variable that set it, so the reason can name it.
    """
    errors: list[FieldError] = []
    for item in error.errors(include_input=False, include_url=False):
        path = _path(item["loc"])
        message = item["msg"]
        variable = (env_variables or {}).get(path.split("[")[0])
        if variable:
            message += f" (set by {variable})"
        errors.append(FieldError(path, message))
    return errors


def _path(location: Iterable[str | int]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
