"""Fixtures for the connectivity tests: the exchange path as real processes, always cleaned up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.connectivity.stack import Stack, start_stack
from tests.integration.components.process import ComponentRunner, components

__all__ = ["components", "stack_factory"]


@pytest.fixture
def stack_factory(components: ComponentRunner, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """`stack_factory(tier=..., breaker=..., gateway_env=...)`; every process is stopped after the test."""
    started: list[Stack] = []

    def factory(**options: Any) -> Stack:
        stack = start_stack(components, tmp_path, **options)
        started.append(stack)
        return stack

    try:
        yield factory
    finally:
        for stack in started:
            stack.sim.stop()
