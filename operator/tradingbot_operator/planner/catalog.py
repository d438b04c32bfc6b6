"""The default components of a bot and how a spec's overrides merge into them.

Pure: `resolve_components(spec, operator_image)` turns a TradingBotSpec into the ordered list of
ComponentPlans the rest of the planner works on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tradingbot_operator.api.constants import COMPONENT_PORT
from tradingbot_operator.api.types import (
    ComponentSpec,
    ExchangeMode,
    Phase,
    RecoveryPolicy,
    TradingBotSpec,
)


@dataclass(frozen=True)
class Builtin:
    """What the product knows about one of its own components."""

    phase: Phase
    depends_on: tuple[str, ...] = ()
    critical: bool = True
    serves: bool = True  # gets a Service other components reach it through
    paper_only: bool = False
    mounts_credentials: bool = False
    needs_data_volume: bool = False
    default_resources: MappingProxyType[str, Any] = field(
        default_factory=lambda: MappingProxyType(
            {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
        )
    )


BUILTINS: dict[str, Builtin] = {
    "storage": Builtin(Phase.INFRASTRUCTURE, needs_data_volume=True),
    "exchange-sim": Builtin(Phase.INFRASTRUCTURE, paper_only=True),
    "auth": Builtin(Phase.AUTH, depends_on=("storage",), mounts_credentials=True),
    "gateway": Builtin(Phase.NETWORK, depends_on=("auth",)),
    "market-data": Builtin(Phase.NETWORK),
    "balance-manager": Builtin(Phase.SERVICES, depends_on=("gateway", "market-data")),
    "portfolio": Builtin(Phase.SERVICES, depends_on=("balance-manager", "market-data")),
    "trader": Builtin(Phase.SERVICES, depends_on=("gateway", "market-data", "portfolio"), serves=False),
}


@dataclass(frozen=True)
class ComponentPlan:
    """One component as the planner sees it: defaults with the spec's overrides applied."""

    name: str
    phase: Phase
    depends_on: tuple[str, ...]
    critical: bool
    replicas: int
    image: str
    builtin: bool
    port: int = COMPONENT_PORT
    serves: bool = True
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    resources: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    node_selector: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tolerations: tuple[MappingProxyType[str, Any], ...] = ()
    mounts_credentials: bool = False
    needs_data_volume: bool = False
    recovery: RecoveryPolicy = field(default_factory=RecoveryPolicy)
    spec_index: int | None = None  # position in spec.components, for error paths


def _recovery(bot: RecoveryPolicy, override: ComponentSpec | None) -> RecoveryPolicy:
    if override is None or override.recovery is None:
        return bot
    patch = override.recovery.model_dump(exclude_none=True)
    return bot.model_copy(update=patch)


def _merge(
    name: str,
    builtin: Builtin | None,
    override: ComponentSpec | None,
    index: int | None,
    spec: TradingBotSpec,
    image: str,
) -> ComponentPlan:
    o = override
    phase = builtin.phase if builtin else (o.phase if o and o.phase else Phase.SERVICES)
    depends = list(builtin.depends_on if builtin else ())
    for dep in (o.depends_on or []) if o else []:
        if dep not in depends:
            depends.append(dep)
    resources: dict[str, Any] = dict(builtin.default_resources) if builtin else {}
    if o and o.resources:
        resources.update(o.resources.model_dump(exclude_none=True))
    return ComponentPlan(
        name=name,
        phase=phase,
        depends_on=tuple(depends),
        critical=o.critical if o and o.critical is not None else (builtin.critical if builtin else True),
        replicas=o.replicas if o and o.replicas is not None else 1,
        image=(o.image if o and o.image else None) or spec.image or image,
        builtin=builtin is not None,
        port=o.port if o and o.port else COMPONENT_PORT,
        serves=builtin.serves if builtin else True,
        args=tuple(o.args) if o and o.args else (),
        env=tuple((e.name, e.value) for e in (o.env or [])) if o else (),
        resources=MappingProxyType(resources),
        node_selector=MappingProxyType(dict(o.node_selector or {})) if o else MappingProxyType({}),
        tolerations=tuple(
            MappingProxyType(t.model_dump(by_alias=True, exclude_none=True)) for t in (o.tolerations or [])
        )
        if o
        else (),
        mounts_credentials=bool(builtin and builtin.mounts_credentials),
        needs_data_volume=bool(builtin and builtin.needs_data_volume),
        recovery=_recovery(spec.recovery, o),
        spec_index=index,
    )


def resolve_components(spec: TradingBotSpec, operator_image: str) -> list[ComponentPlan]:
    """Defaults (exchange-sim only in paper mode) merged with overrides, then custom components, in order."""
    overrides = {c.name: (i, c) for i, c in enumerate(spec.components)}
    plans = []
    for name, builtin in BUILTINS.items():
        if builtin.paper_only and spec.exchange.mode != ExchangeMode.PAPER:
            continue
        index, override = overrides.get(name, (None, None))
        plans.append(_merge(name, builtin, override, index, spec, operator_image))
    for index, override in enumerate(spec.components):
        if override.name not in BUILTINS:
            plans.append(_merge(override.name, None, override, index, spec, operator_image))
    return plans
