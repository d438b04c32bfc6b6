"""Environment overrides of the config document: `TRADINGBOT_<SECTION>_<KEY>` and `TRADINGBOT__SECTION__KEY`.

Purely computational: names are resolved against the schema (section and key names contain underscores,
so a name is matched against the known fields rather than split), values are parsed per field type.
"""

from __future__ import annotations

import copy
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel

from tradingbot_components.config.schema import BotConfig

PREFIX = "TRADINGBOT_"
EXPLICIT_PREFIX = "TRADINGBOT__"
# Variables of the process itself (or of its tooling) that share the prefix but are not config fields.
RESERVED: frozenset[str] = frozenset(
    {
        "TRADINGBOT_COMPONENT",
        "TRADINGBOT_CONFIG",
        "TRADINGBOT_CONFIGMAP",
        "TRADINGBOT_LOG_FORMAT",
        "TRADINGBOT_CLUSTER_DIR",
        "TRADINGBOT_KEEP_CLUSTER",
        "TRADINGBOT_COMPONENT_IMAGE",
        "TRADINGBOT_RUNTIME_DIR",
        "TRADINGBOT_METRICS_ADDRESS",
        "TRADINGBOT_ALERT_WEBHOOK",
        "TRADINGBOT_STATE_DIR",
    }
)
# Whole families of non-config variables: the simulator's, gateway's, balance-manager's, trader's and
# market data's own settings.
RESERVED_PREFIXES: tuple[str, ...] = (
    "TRADINGBOT_SIM_",
    "TRADINGBOT_GATEWAY_",
    "TRADINGBOT_BALANCE_MANAGER_",
    "TRADINGBOT_TRADER_",
    "TRADINGBOT_MARKET_DATA_",
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NULL = frozenset({"", "null", "none"})


@dataclass(frozen=True)
class EnvOverride:
    """One environment variable that sets one config field."""

    variable: str
    path: str
    value: Any  # parsed per field type; left as the raw string when it does not parse (validation says why)


@dataclass(frozen=True)
class EnvOverrides:
    """Every override found in an environment, plus the variables that looked like config but were not."""

    overrides: tuple[EnvOverride, ...] = ()
    unknown: tuple[str, ...] = ()  # TRADINGBOT_* names that match no field
    problems: tuple[str, ...] = ()  # ambiguous names, one field set by both forms

    def by_path(self) -> dict[str, EnvOverride]:
        return {override.path: override for override in self.overrides}

    def variable_for(self, path: str) -> str | None:
        override = self.by_path().get(path)
        return override.variable if override else None

    def apply(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `document` with every override set (environment wins over the document)."""
        result: dict[str, Any] = copy.deepcopy(dict(document))
        for override in self.overrides:
            *parents, leaf = override.path.split(".")
            node = result
            for name in parents:
                child = node.get(name)
                if not isinstance(child, dict):
                    child = {}  # a non-mapping here is invalid anyway; the override still lands
                    node[name] = child
                node = child
            node[leaf] = override.value
        return result


def read_overrides(environ: Mapping[str, str], model: type[BaseModel] = BotConfig) -> EnvOverrides:
    """Resolve every `TRADINGBOT_*` variable of `environ` against `model`.

    The explicit `TRADINGBOT__SECTION__KEY` form wins when both forms set the same field.
    """
    plain: dict[str, EnvOverride] = {}
    explicit: dict[str, EnvOverride] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith(PREFIX) or upper in RESERVED or upper.startswith(RESERVED_PREFIXES):
            continue
        if upper.startswith(EXPLICIT_PREFIX):
            paths = _explicit_path(upper[len(EXPLICIT_PREFIX) :], model)
            target = explicit
        else:
            paths = _match(upper[len(PREFIX) :].lower(), model, "")
            target = plain
        if not paths:
            unknown.append(variable)
            continue
        if len(paths) > 1:
            problems.append(f"{variable} is ambiguous: it could set {' or '.join(sorted(paths))}; ignored")
            continue
        path = paths[0]
        annotation = _annotation(model, path)
        target[path] = EnvOverride(variable, path, parse_value(environ[variable], annotation))
    for path, override in explicit.items():
        if path in plain:
            problems.append(
                f"{plain[path].variable} and {override.variable} both set {path}; {override.variable} wins"
            )
        plain[path] = override
    ordered = tuple(plain[path] for path in sorted(plain))
    return EnvOverrides(ordered, tuple(unknown), tuple(problems))


def variable_name(path: str) -> str:
    """The usual variable for a dotted path: `trading.profit_target` -> `TRADINGBOT_TRADING_PROFIT_TARGET`."""
    return PREFIX + path.replace(".", "_").upper()


def parse_value(raw: str, annotation: Any) -> Any:
    """Turn an environment string into a value of the field's type, as far as the string allows."""
    annotation, optional = _strip_optional(annotation)
    text = raw.strip()
    if optional and text.lower() in _NULL:
        return None
    origin = typing.get_origin(annotation)
    if annotation is bool:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    if annotation is int:
        return _try(int, text, raw)
    if annotation is float:
        return _try(float, text, raw)
    if origin in (list, tuple, set, frozenset):
        (item_type, *_rest) = typing.get_args(annotation) or (str,)
        if text.startswith("["):
            return _try(json.loads, text, raw)
        return [parse_value(item, item_type) for item in text.split(",") if item.strip()]
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return _try(json.loads, text, raw)
    return text


def _match(rest: str, model: type[BaseModel], prefix: str) -> list[str]:
    """Every leaf path whose underscore-joined name is `rest`, by trying the known names at each level."""
    found: list[str] = []
    for name, info in model.model_fields.items():
        nested = cast(type[BaseModel], info.annotation) if _is_model(info.annotation) else None
        if nested is not None and rest.startswith(name + "_"):
            found += _match(rest[len(name) + 1 :], nested, f"{prefix}{name}.")
        elif nested is None and rest == name:
            found.append(prefix + name)
    return found


def _explicit_path(rest: str, model: type[BaseModel]) -> list[str]:
    parts = [part.lower() for part in rest.split("__")]
    current: type[BaseModel] = model
    for index, part in enumerate(parts):
        info = current.model_fields.get(part)
        if info is None:
            return []
        last = index == len(parts) - 1
        if _is_model(info.annotation) == last:  # a section where a leaf must be, or the other way round
            return []
        if not last:
            current = info.annotation  # type: ignore[assignment]
    return [".".join(parts)]


def _annotation(model: type[BaseModel], path: str) -> Any:
    current: Any = model
    for part in path.split("."):
        current = current.model_fields[part].annotation
    return current


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(annotation))
    return annotation, False


def _try(parse: Any, text: str, raw: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        return raw
