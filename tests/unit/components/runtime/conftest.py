"""Fixtures shared by the runtime's tests: a fake clock, a private metrics registry, a monitor on both."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from tests.unit.components.runtime.test_health import FakeClock
from tradingbot_components.runtime import HealthMonitor


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def monitor(clock: FakeClock, registry: CollectorRegistry) -> HealthMonitor:
    return HealthMonitor(registry=registry, now=clock)
