"""The vocabulary of health: statuses and how they combine, check results, component views and alerts.

Plain values only; the monitor in `health.py` produces them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class HealthStatus(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"
    UNHEALTHY = "unhealthy"


# Worse is larger. Unknown ranks above Degraded: a critical component nobody has checked yet must not
# let the process report itself healthy or ready.
_RANK = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.DEGRADED: 1,
    HealthStatus.UNKNOWN: 2,
    HealthStatus.UNHEALTHY: 3,
}


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The worst of `statuses`; Healthy when there are none."""
    return max(statuses, key=_RANK.__getitem__, default=HealthStatus.HEALTHY)


@dataclass(frozen=True)
class CheckResult:
    """What a check may return instead of a bare status, to explain itself."""

    status: HealthStatus
    message: str | None = None
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class ComponentHealth:
    """One component as the monitor sees it now."""

    name: str
    status: HealthStatus  # after cascading from dependencies
    own_status: HealthStatus  # what its own check (or last push) said
    critical: bool
    root_cause: str | None = None  # the deepest unhealthy dependency behind a cascaded status
    message: str | None = None
    details: dict[str, Any] | None = None
    checked_at: float | None = None
    since: float | None = None  # when `status` last changed

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "own_status": str(self.own_status),
            "critical": self.critical,
            "root_cause": self.root_cause,
            "message": self.message,
            "details": self.details,
            "checked_at": self.checked_at,
            "since": self.since,
        }


class AlertSeverity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertReason(enum.StrEnum):
    UNHEALTHY = "Unhealthy"
    DEGRADED = "Degraded"
    RECOVERED = "Recovered"
    RECOVERY_FAILED = "RecoveryFailed"
    RECOVERY_EXHAUSTED = "RecoveryExhausted"


@dataclass(frozen=True)
class Alert:
    time: float
    severity: AlertSeverity
    component: str
    reason: AlertReason
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "severity": str(self.severity),
            "component": self.component,
            "reason": str(self.reason),
            "message": self.message,
            "details": self.details,
        }
