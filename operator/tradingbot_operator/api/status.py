"""The TradingBot status: conditions for machines, phase and per-component rows for humans.

The operator is the only writer. Status also carries the startup bookkeeping (attempt, ratchets) so a
restarted operator continues where the last one stopped.
"""

from __future__ import annotations

import enum

from pydantic import Field

from tradingbot_operator.api.types import KubeModel, Phase


class BotPhase(enum.StrEnum):
    """Display-only summary; conditions are the API."""

    PENDING = "Pending"
    STARTING = "Starting"
    RUNNING = "Running"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    SUSPENDED = "Suspended"
    TERMINATING = "Terminating"


class Health(enum.StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"


class ComponentState(enum.StrEnum):
    """Where a component is in the startup/shutdown lifecycle."""

    WAITING = "Waiting"  # dependencies not Ready yet
    STARTING = "Starting"  # Deployment created, not Ready yet
    READY = "Ready"
    FAILED = "Failed"  # retries exhausted
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class Condition(KubeModel):
    """metav1.Condition."""

    type: str = Field(description="Ready, Progressing, Degraded, ConfigValid, ConfigApplied")
    status: str = Field(description="True, False or Unknown")
    reason: str = Field(description="One-word CamelCase reason")
    message: str = Field("", description="Human-readable detail")
    last_transition_time: str = Field(description="When status last changed (RFC 3339)")
    observed_generation: int | None = Field(None, description="Spec generation this condition describes")


class Recovery(KubeModel):
    """A recovery action the operator took."""

    action: str = Field(description="Restart or Scale")
    time: str = Field(description="When (RFC 3339)")
    reason: str = Field(description="Why")


class ComponentStatus(KubeModel):
    """Observed state of one component."""

    name: str = Field(description="Component name")
    phase: Phase = Field(description="Startup phase of the component")
    state: ComponentState = Field(description="Lifecycle state")
    ready: str = Field("0/0", description="Ready/desired replicas")
    health: Health = Field(Health.UNKNOWN, description="Health derived from Deployment and Pod status")
    reason: str = Field("", description="CamelCase reason for state or health")
    message: str = Field("", description="Human-readable detail")
    root_cause: str | None = Field(None, description="The failing dependency when Degraded because of one")
    restarts: int = Field(0, description="Container restarts across the component's pods")
    config_generation: int | None = Field(None, description="Config generation the component runs")
    ready_generation: int | None = Field(
        None, description="Deployment generation at which the component was last seen Ready (startup ratchet)"
    )
    last_recovery: Recovery | None = Field(None, description="The last recovery action")
    recent_restarts: list[str] = Field(
        default_factory=list, description="Times of automatic restarts inside the budget window (RFC 3339)"
    )
    safe_mode: bool = Field(False, description="Held at 0 replicas while a critical dependency is Unhealthy")


class StartupStatus(KubeModel):
    """Startup bookkeeping for the current attempt."""

    generation: int = Field(description="Spec generation this attempt started for")
    phase: Phase | None = Field(None, description="The phase being started; empty once all are Ready")
    phase_started_at: str | None = Field(None, description="When the current phase began (RFC 3339)")
    retries: int = Field(0, description="Restarts of the current phase so far")
    started: list[str] = Field(default_factory=list, description="Components this attempt started, in order")
    failed: bool = Field(False, description="Retries of a critical component exhausted")
    failed_components: list[str] = Field(default_factory=list, description="Components whose retries ran out")
    completed_at: str | None = Field(None, description="When every phase was Ready (RFC 3339)")


class ConfigStatus(KubeModel):
    """The config document the ConfigMap holds."""

    generation: int = Field(0, description="Increases on every change of the effective config")
    hash: str = Field("", description="Hash of the effective config")


class Alert(KubeModel):
    """A notable event, newest first; the list is bounded."""

    time: str = Field(description="When (RFC 3339)")
    severity: str = Field(description="info, warning or critical")
    component: str = Field(description="Component concerned, or the bot")
    reason: str = Field(description="CamelCase reason")
    message: str = Field(description="Human-readable detail")


class TradingBotStatus(KubeModel):
    """Observed state of a trading bot (written by the operator only)."""

    phase: BotPhase = Field(BotPhase.PENDING, description="Display-only summary")
    startup_phase: str = Field("", description="Phase being started, or Complete")
    ready: str = Field("0/0", description="Ready components / components")
    health: Health = Field(Health.UNKNOWN, description="Worst health of the critical components")
    observed_generation: int | None = Field(None, description="Spec generation last acted upon")
    conditions: list[Condition] = Field(
        default_factory=list, description="Ready, Progressing, Degraded, ConfigValid"
    )
    components: list[ComponentStatus] = Field(default_factory=list, description="Per component")
    startup: StartupStatus | None = Field(None, description="Startup bookkeeping")
    config: ConfigStatus | None = Field(None, description="Effective config")
    alerts: list[Alert] = Field(default_factory=list, description="Recent alerts, newest first")
