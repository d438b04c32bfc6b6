"""Prometheus exposition for the protocol library: one collector per registry reports every live instance.

Governors and breakers compute their numbers at scrape time (a decaying counter is never stale), and
several instances can share one registry without clashing; the global registry is never touched.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

T = TypeVar("T")
Render = Callable[[Sequence[T]], Iterable[Metric]]


class InstanceCollector(Collector, Generic[T]):
    """Renders metric families from the instances alive at scrape time."""

    def __init__(self, render: Render[T]) -> None:
        self._render = render
        self._members: weakref.WeakSet[T] = weakref.WeakSet()

    def add(self, instance: T) -> None:
        self._members.add(instance)

    def collect(self) -> Iterable[Metric]:
        return self._render(list(self._members))

    def describe(self) -> Iterable[Metric]:
        # Families without samples: lets the registry reject a name clash with another collector.
        return self._render([])


_lock = threading.Lock()
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, InstanceCollector[object]]] = (
    weakref.WeakKeyDictionary()
)


def register_instance(registry: CollectorRegistry, kind: str, render: Render[T], instance: T) -> None:
    """Report `instance` on `registry`, through the one collector of its `kind` on that registry."""
    with _lock:
        collectors = _by_registry.setdefault(registry, {})
        collector = collectors.get(kind)
        if collector is None:
            collector = InstanceCollector(render)  # type: ignore[arg-type]
            registry.register(collector)
            collectors[kind] = collector
        collector.add(instance)
