"""A component's own process settings, outside the bot config: one frozen dataclass per component, each field
settable as `<PREFIX><FIELD NAME>` in the environment (`TRADINGBOT_GATEWAY_REQUEST_TIMEOUT=3`).

Floats are seconds (or counts) and must be finite and > 0; `Decimal` fields are amounts, finite and >= 0.
Errors read `VARIABLE: reason`, which the components turn into a config rejection naming the variable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from tradingbot_components.config.changes import FieldError
from tradingbot_components.config.manager import ConfigRejected

T = TypeVar("T")


def _number(variable: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{variable}: expected a number of seconds, got {raw!r}") from None
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{variable}: must be a finite number > 0, got {raw!r}")
    return value


def _amount(variable: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"{variable}: expected a decimal amount such as 0.00001, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{variable}: must be a finite amount >= 0, got {raw!r}")
    return value


def read_process_settings(kind: type[T], prefix: str, environ: Mapping[str, str]) -> T:
    """`kind()` with every field the environment sets; raises ValueError as `VARIABLE: reason`."""
    values: dict[str, Any] = {}
    defaults = kind()
    for field in fields(kind):  # type: ignore[arg-type]
        variable = prefix + field.name.upper()
        raw = environ.get(variable)
        if raw is None or not raw.strip():
            continue
        default = getattr(defaults, field.name)
        values[field.name] = (
            _amount(variable, raw) if isinstance(default, Decimal) else _number(variable, raw)
        )
    return kind(**values)


def settings_or_reject(read: Callable[[Mapping[str, str]], T], environ: Mapping[str, str]) -> T:
    """`read(environ)`; its `VARIABLE: reason` error becomes the config rejection that names the variable (the
    process then fails its start with that field, as for a bad config document)."""
    try:
        return read(environ)
    except ValueError as exc:
        variable, _, reason = str(exc).partition(": ")
        raise ConfigRejected([FieldError(variable, reason)]) from None
