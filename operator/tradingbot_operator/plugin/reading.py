"""Read a TradingBot as the server returns it into the API's own status models.

The plugin and the operator may be different versions: fields this plugin does not know are dropped before
validation (the API models forbid extras), so a newer operator's status still renders. Pure.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tradingbot_operator.api import constants as c
from tradingbot_operator.api.status import ComponentStatus, TradingBotStatus
from tradingbot_operator.plugin.errors import ExitCode, PluginError


@dataclass(frozen=True)
class BotView:
    """What the commands need of one TradingBot: identity, a few spec facts, and its typed status."""

    name: str
    namespace: str
    generation: int
    resource_version: str
    created: str | None
    deleting: str | None  # deletionTimestamp
    mode: str
    restart_request: str | None
    status: TradingBotStatus
    reported: bool  # False until the operator has written any status

    def component(self, name: str) -> ComponentStatus | None:
        return next((row for row in self.status.components if row.name == name), None)

    @property
    def component_names(self) -> list[str]:
        return [row.name for row in self.status.components]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field annotation refers to: X, X | None, list[X]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def known_fields(model: type[BaseModel], data: Any) -> Any:
    """`data` with only the (wire-named) fields `model` declares, recursively."""
    if not isinstance(data, Mapping):
        return data
    kept: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        value, nested = data[key], _models_in(field.annotation)
        if nested and isinstance(value, list):
            value = [known_fields(nested[0], item) for item in value]
        elif nested:
            value = known_fields(nested[0], value)
        kept[key] = value
    return kept


def read_status(raw: Mapping[str, Any] | None, *, bot: str = "the bot") -> TradingBotStatus:
    try:
        return TradingBotStatus.model_validate(known_fields(TradingBotStatus, raw or {}))
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise PluginError(
            f"cannot read the status of {bot}: status.{path}: {first['msg']} "
            "(was it written by a newer operator? `-o json` shows it as is)",
            ExitCode.API_ERROR,
        ) from None


def read_bot(raw: Mapping[str, Any]) -> BotView:
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    name = str(meta.get("name", ""))
    namespace = str(meta.get("namespace", ""))
    return BotView(
        name=name,
        namespace=namespace,
        generation=int(meta.get("generation") or 0),
        resource_version=str(meta.get("resourceVersion", "")),
        created=meta.get("creationTimestamp"),
        deleting=meta.get("deletionTimestamp"),
        mode=str((spec.get("exchange") or {}).get("mode", "paper")),
        restart_request=(meta.get("annotations") or {}).get(c.Annotations.RESTART_REQUEST),
        status=read_status(raw.get("status"), bot=f"{namespace}/{name}"),
        reported=bool(raw.get("status")),
    )
