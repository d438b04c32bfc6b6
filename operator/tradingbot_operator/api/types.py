"""The TradingBot API (tradingbot.dev/v1alpha1) as pydantic models: the CRD schema is generated from these.

Spec fields use Kubernetes camelCase on the wire (snake_case in Python); `spec.config` keeps the bot's own
snake_case document so one file serves a local run and the cluster.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from tradingbot_components.config import BotConfig
from tradingbot_components.runtime.startup_plan import Phase


class KubeModel(BaseModel):
    """camelCase on the wire, unknown fields rejected with their path."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ExchangeMode(enum.StrEnum):
    PAPER = "paper"
    LIVE = "live"


DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=40)]
Quantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")]


class ExchangeSpec(KubeModel):
    """Which exchange the bot trades on."""

    mode: ExchangeMode = Field(
        ExchangeMode.PAPER, description="paper: the built-in Kraken simulator; live: the real exchange"
    )
    credentials_secret: DnsLabel | None = Field(
        None,
        description="live only: Secret with keys api-key and api-secret; mounted into the auth component only",
    )


class StorageVolume(enum.StrEnum):
    PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"
    EMPTY_DIR = "EmptyDir"


class ReclaimPolicy(enum.StrEnum):
    RETAIN = "Retain"
    DELETE = "Delete"


class StorageSpec(KubeModel):
    """Where the storage component keeps orders, fills, balance snapshots and nonce marks."""

    volume: StorageVolume = Field(
        StorageVolume.PERSISTENT_VOLUME_CLAIM,
        description="PersistentVolumeClaim: kept across pod restarts and reschedules; "
        "EmptyDir: lost with the pod (tests, throwaway paper bots)",
    )
    size: Quantity = Field("1Gi", description="Requested capacity of the claim; it may grow, never shrink")
    storage_class_name: DnsLabel | None = Field(
        None, description="StorageClass of the claim; the cluster's default class when unset; immutable"
    )
    reclaim: ReclaimPolicy = Field(
        ReclaimPolicy.RETAIN,
        description="Retain: the claim outlives the bot (a bot of the same name finds its data again); "
        "Delete: the claim is deleted with the bot",
    )


class ResourceRequirements(KubeModel):
    """Container resources, as in a Pod spec."""

    requests: dict[str, Quantity] | None = Field(
        None, description="Minimum resources, e.g. {cpu: 50m, memory: 64Mi}"
    )
    limits: dict[str, Quantity] | None = Field(
        None, description="Maximum resources, e.g. {cpu: 500m, memory: 256Mi}"
    )


class EnvVar(KubeModel):
    """An environment variable with a literal value (TRADINGBOT_<SECTION>_<KEY> overrides config fields)."""

    name: Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")] = Field(
        description="Variable name"
    )
    value: str = Field("", description="Literal value")


class Toleration(KubeModel):
    """A Pod toleration."""

    key: str | None = Field(None, description="Taint key; empty matches all keys with operator Exists")
    operator: Literal["Exists", "Equal"] | None = Field(None, description="Exists or Equal (default Equal)")
    value: str | None = Field(None, description="Taint value for operator Equal")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        None, description="Taint effect"
    )
    toleration_seconds: int | None = Field(None, description="For NoExecute: how long the pod stays bound")


class ComponentRecovery(KubeModel):
    """Per-component override of spec.recovery."""

    enabled: bool | None = Field(None, description="Restart this component automatically")
    max_restarts: int | None = Field(None, ge=0, le=100, description="Restart budget per window")
    window_seconds: int | None = Field(None, ge=10, le=86400, description="Length of the budget window")
    backoff_seconds: int | None = Field(
        None, ge=0, le=3600, description="Wait after a restart before the next one"
    )


class ComponentSpec(KubeModel):
    """Override a default component by name, or add a custom one (which then needs image and phase)."""

    name: DnsLabel = Field(description="Component name: a default (storage, auth, ...) or a new one")
    replicas: int | None = Field(None, ge=0, le=20, description="Pod replicas (default 1)")
    image: str | None = Field(None, min_length=1, description="Container image (default: spec.image)")
    args: list[str] | None = Field(
        None,
        description="Container arguments: the whole argument list of a custom component; for a built-in one, "
        "options appended to its command (e.g. the trader's --strategy package.module:Class)",
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Port serving /livez, /readyz, /metrics (default 8080)"
    )
    resources: ResourceRequirements | None = Field(None, description="Container resources")
    env: list[EnvVar] | None = Field(None, description="Extra environment variables")
    node_selector: dict[str, str] | None = Field(None, description="Node labels the pods must match")
    tolerations: list[Toleration] | None = Field(None, description="Pod tolerations")
    phase: Phase | None = Field(None, description="Startup phase (custom components; defaults keep theirs)")
    depends_on: list[DnsLabel] | None = Field(
        None, description="Components that must be Ready before this one starts (same or earlier phase)"
    )
    critical: bool | None = Field(None, description="A critical component gates later phases and bot health")
    recovery: ComponentRecovery | None = Field(
        None, description="Override of spec.recovery for this component"
    )


class StartupPolicy(KubeModel):
    """How startup waits, retries and rolls back."""

    phase_timeout_seconds: int = Field(
        300, ge=5, le=7200, description="How long one phase may take to become Ready"
    )
    max_retries: int = Field(3, ge=0, le=20, description="Restarts of a stuck phase before startup fails")
    rollback_on_failure: bool = Field(
        True,
        description="On failure of a critical component, scale down what the attempt started, in reverse order",
    )


class RecoveryPolicy(KubeModel):
    """Automatic repair of unhealthy components."""

    enabled: bool = Field(True, description="false: observe and report only")
    max_restarts: int = Field(3, ge=0, le=100, description="Restarts per component per window")
    window_seconds: int = Field(600, ge=10, le=86400, description="Length of the restart budget window")
    backoff_seconds: int = Field(
        10,
        ge=0,
        le=3600,
        description="Wait after a restart before the next one (doubles with each restart in the window)",
    )
    safe_mode: bool = Field(
        True,
        description="Scale the trader to 0 while a critical dependency (gateway, auth, market-data) is Unhealthy",
    )


class TradingBotSpec(KubeModel):
    """Desired state of a trading bot."""

    suspend: bool = Field(
        False, description="true: stop gracefully in reverse phase order and keep everything else"
    )
    image: str | None = Field(
        None, min_length=1, description="Image for the built-in components (operator default)"
    )
    exchange: ExchangeSpec = Field(default_factory=ExchangeSpec, description=ExchangeSpec.__doc__)
    config: BotConfig = Field(
        default_factory=BotConfig,
        description="The bot's config document (snake_case, same schema as a local config.json)",
    )
    storage: StorageSpec = Field(default_factory=StorageSpec, description=StorageSpec.__doc__)
    components: list[ComponentSpec] = Field(
        default_factory=list,
        max_length=32,
        description="Overrides of default components, or custom components",
    )
    startup: StartupPolicy = Field(default_factory=StartupPolicy, description=StartupPolicy.__doc__)
    recovery: RecoveryPolicy = Field(default_factory=RecoveryPolicy, description=RecoveryPolicy.__doc__)
