"""Fixtures for the reliability tests: sizes for CI and for `make chaos`, a seeded RNG, and the operator.

The same tests run in two sizes: small enough for CI by default, long with `--chaos` (`make chaos`).
Random choices come from one seed, printed with every failure; `TRADINGBOT_CHAOS_SEED` replays a run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.operator.conftest import pytest_runtest_makereport
from tests.support.bots import Bots
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess, running_operator

__all__ = ["pytest_runtest_makereport"]  # the operator tests' hook: failed tests print the operator's log


@dataclass(frozen=True)
class Sizes:
    """How hard each test pushes; `long` is the form the issue asks for, CI runs the short one."""

    long: bool
    crash_rounds: int  # rounds of 5 bots through start, rollback, config change and teardown
    kills_per_round: int  # operator SIGKILLs per round
    fuzz_manifests: int  # generated TradingBot manifests, each applied to the API server (dry run)
    fuzz_to_operator: int  # of those the API server admits, how many are created for the operator to judge


CI = Sizes(long=False, crash_rounds=1, kills_per_round=6, fuzz_manifests=500, fuzz_to_operator=24)
LONG = Sizes(long=True, crash_rounds=3, kills_per_round=8, fuzz_manifests=2000, fuzz_to_operator=150)


@pytest.fixture(scope="session")
def sizes(request: pytest.FixtureRequest) -> Sizes:
    return LONG if request.config.getoption("--chaos") else CI


@pytest.fixture
def rng(seed: int) -> random.Random:
    return random.Random(seed)


@pytest.fixture
def operator(
    cluster: LocalCluster, crd: None, bots: Bots, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """The operator, scoped to this test's namespace; its log is printed when the test fails.

    It depends on `bots` so that it stops first and `bots` can then release the finalizers it left.
    """
    with running_operator(cluster, tmp_path / "operator.log", bots.namespace, request) as process:
        yield process


@pytest.fixture
def bots(cluster: LocalCluster, namespace: str) -> Iterator[Bots]:
    handle = Bots(cluster, namespace)
    try:
        yield handle
    finally:
        release_finalizers(handle)
        handle.api.close()


def release_finalizers(bots: Bots) -> None:
    """A failed test must not leave finalizers that block the namespace's deletion once the operator is gone."""
    for bot in bots.custom.list_namespaced_custom_object(
        "tradingbot.dev", "v1alpha1", bots.namespace, "tradingbots"
    )["items"]:
        if bot["metadata"].get("finalizers"):
            bots.patch(bot["metadata"]["name"], {"metadata": {"finalizers": None}})
