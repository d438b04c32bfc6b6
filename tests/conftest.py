"""Shared pytest wiring: markers by folder, test order, and the session-wide local control plane for e2e tests."""

from __future__ import annotations

import contextlib
import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import cluster as local_cluster
from tests.support import prepared as prepared_stages
from tests.support.cluster import LocalCluster
from tests.support.operator import install_crd
from tests.support.prepared import PreparationFailed, wait_until_prepared
from tests.support.session_report import record_cluster_up, register_session_report

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos",
        action="store_true",
        default=False,
        help="run the long forms of the reliability tests (make chaos); without it they run CI-sized",
    )


def pytest_configure(config: pytest.Config) -> None:
    register_session_report(config)  # what hack/run-tests.sh judges the session by


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    long_form = config.getoption("--chaos")
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts[0] == "e2e":
            item.add_marker(pytest.mark.e2e)
        elif parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("chaos") and not long_form:
            item.add_marker(pytest.mark.skip(reason="long form only: make chaos (pytest --chaos)"))
    # Ordered by the build stage each test needs, so they run while `make test` builds the rest
    # (tests/support/prepared.py); a stable sort, so each module's tests stay together in their order.
    items.sort(key=lambda item: prepared_stages.ORDER.index(build_stage_needed(item)))


def build_stage_needed(item: pytest.Item) -> str | None:
    """None: nothing built; CONTROL_PLANE: the kwok e2e tests; ALL: the real node's parts and the image too."""
    if "prepared" in getattr(item, "fixturenames", ()):
        return prepared_stages.ALL
    return prepared_stages.CONTROL_PLANE if item.get_closest_marker("e2e") is not None else None


def _say(config: pytest.Config) -> Callable[[str], None]:
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return say


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Wait for the build stage a test needs here, before pytest-timeout starts the test's clock (a cold build
    takes longer than any test may): its fixtures then find the stage done, or fail with the build's error."""
    stage = build_stage_needed(item)
    if stage is not None:
        with contextlib.suppress(PreparationFailed):  # reported by the fixture, as the test's error
            wait_until_prepared(_say(item.config), stage)
    return (yield)


def _require(config: pytest.Config, stage: str) -> None:
    try:
        wait_until_prepared(_say(config), stage)
    except PreparationFailed as failed:
        pytest.fail(str(failed), pytrace=False)


@pytest.fixture(scope="session")
def control_plane_built(pytestconfig: pytest.Config) -> None:
    """The control plane's binaries: waits for `make test`'s background builds where they still run."""
    _require(pytestconfig, prepared_stages.CONTROL_PLANE)


@pytest.fixture(scope="session")
def prepared(pytestconfig: pytest.Config) -> None:
    """Everything `make test` builds (the real node's parts and the image too): waits where it still runs."""
    _require(pytestconfig, prepared_stages.ALL)


@pytest.fixture(autouse=True)
def _e2e_after_the_builds(request: pytest.FixtureRequest) -> None:
    """Every e2e test needs the control plane's binaries, whether or not it goes through the `cluster` fixture."""
    if request.node.get_closest_marker("e2e"):
        request.getfixturevalue("control_plane_built")


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config, control_plane_built: None) -> Iterator[local_cluster.LocalCluster]:
    """The checkout's control plane in .cluster/: reused when it is up, otherwise started and stopped here.
    Started while the real node's parts are still being built, it starts without the real node; the real-pod
    tests, which run last, add it (tests/e2e/realnode/conftest.py)."""
    state_dir = Path(os.environ.get("TRADINGBOT_CLUSTER_DIR", ROOT / ".cluster"))
    if local_cluster.is_running(state_dir):
        record_cluster_up(pytestconfig)
        yield local_cluster.LocalCluster(state_dir)
        return
    defer = prepared_stages.under_way(prepared_stages.ALL)
    pytestconfig.stash[prepared_stages.REAL_NODE_DEFERRED] = defer
    started = local_cluster.start(state_dir, real_node=not defer)
    record_cluster_up(pytestconfig)
    try:
        yield started
    finally:
        if not os.environ.get("TRADINGBOT_KEEP_CLUSTER"):
            local_cluster.stop(state_dir)


@pytest.fixture(scope="session")
def crd(cluster: LocalCluster) -> None:
    """The repository's CRD, current (helm installs the chart's copy only when none exists yet)."""
    install_crd(cluster)


@pytest.fixture
def namespace(cluster: local_cluster.LocalCluster) -> Iterator[str]:
    """A fresh namespace per test, its pods on the kwok nodes; deleted afterwards (without waiting for it)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.create_namespace(name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """A chaos run's seed: random, or `TRADINGBOT_CHAOS_SEED` to replay one (printed, and kept in the report)."""
    value = int(os.environ.get("TRADINGBOT_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    request.node.user_properties.append(("seed", value))
    print(f"chaos seed {value} (replay with TRADINGBOT_CHAOS_SEED={value})")
    return value
