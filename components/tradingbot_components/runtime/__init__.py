"""The in-process component runtime: dependency injection, phased startup, and health monitoring.

Every component process wires itself with these pieces (DESIGN §5); nothing here talks to Kubernetes.
"""

from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.cascade import Cascaded, cascade
from tradingbot_components.runtime.container import Container, DisposalError, Scope
from tradingbot_components.runtime.graph import find_cycle, format_path
from tradingbot_components.runtime.health import HealthConfigError, HealthMonitor
from tradingbot_components.runtime.health_status import (
    Alert,
    AlertReason,
    AlertSeverity,
    CheckResult,
    ComponentHealth,
    HealthStatus,
    worst,
)
from tradingbot_components.runtime.recovery import RecoveryDeferred, RecoveryPolicy
from tradingbot_components.runtime.registrations import (
    ContainerError,
    DependencyCycleError,
    Lifetime,
    MissingRegistrationError,
    RegistrationError,
    ScopeError,
)
from tradingbot_components.runtime.signals import install_signal_handlers, run_until_signal
from tradingbot_components.runtime.startup import (
    ShutdownReport,
    StartupFailed,
    StartupSequence,
    StepStatus,
    StepTimeout,
)
from tradingbot_components.runtime.startup_plan import Phase, StartupConfigError, StepState

__all__ = [
    "Alert",
    "AlertReason",
    "AlertSeverity",
    "Cascaded",
    "CheckResult",
    "ComponentHealth",
    "Container",
    "ContainerError",
    "DependencyCycleError",
    "DisposalError",
    "HealthConfigError",
    "HealthMonitor",
    "HealthStatus",
    "Lifetime",
    "MissingRegistrationError",
    "Phase",
    "RecoveryDeferred",
    "RecoveryPolicy",
    "RegistrationError",
    "Scope",
    "ScopeError",
    "ShutdownReport",
    "StartupConfigError",
    "StartupFailed",
    "StartupSequence",
    "StepState",
    "StepStatus",
    "StepTimeout",
    "backoff_delay",
    "cascade",
    "find_cycle",
    "format_path",
    "install_signal_handlers",
    "run_until_signal",
    "worst",
]
