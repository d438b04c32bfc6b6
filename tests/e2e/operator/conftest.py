"""Fixtures for operator e2e tests: the CRD installed once, one operator process per test namespace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.components.process import components  # the fixture, for tests that run components
from tests.support.bots import Bots
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess, running_operator

__all__ = ["components"]


@pytest.fixture
def operator(
    cluster: LocalCluster, crd: None, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The operator, scoped to this test's namespace; its log is printed when the test fails."""
    with running_operator(cluster, tmp_path / "operator.log", namespace, request) as process:
        yield process


@pytest.fixture
def bots(cluster: LocalCluster, namespace: str) -> Bots:
    return Bots(cluster, namespace)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
