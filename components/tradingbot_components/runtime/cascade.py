"""In-process cascading: a component whose dependency is unhealthy is degraded, and says which one.

A pure function of the components' own statuses and their `depends_on` edges (which must be acyclic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tradingbot_components.runtime.health_status import HealthStatus, worst


@dataclass(frozen=True)
class Cascaded:
    status: HealthStatus
    root_cause: str | None  # None: the component is healthy or is itself the origin of its status


def cascade(own: Mapping[str, HealthStatus], depends_on: Mapping[str, Sequence[str]]) -> dict[str, Cascaded]:
    """Effective status and root cause of every component in `own`.

    A dependency is failing when it is Unhealthy itself or is failing because of its own dependencies;
    the root cause follows the chain down to the deepest Unhealthy component (first failing dependency
    in declaration order when there are several). The dependent is at least Degraded.
    """
    roots: dict[str, str | None] = {}

    def root_of(name: str) -> str | None:
        if name not in roots:
            found: str | None = None
            for dependency in depends_on.get(name, ()):
                if dependency not in own:
                    continue
                deeper = root_of(dependency)
                if deeper is not None:
                    found = deeper
                    break
                if own[dependency] is HealthStatus.UNHEALTHY:
                    found = dependency
                    break
            roots[name] = found
        return roots[name]

    result: dict[str, Cascaded] = {}
    for name, status in own.items():
        root = root_of(name)
        result[name] = Cascaded(status if root is None else worst([status, HealthStatus.DEGRADED]), root)
    return result
