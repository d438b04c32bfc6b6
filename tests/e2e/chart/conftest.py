"""Fixtures for the chart's e2e tests: the cluster's helm, the CRD, unique release names."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.chart.helm import Helm
from tests.support.cluster import LocalCluster


@pytest.fixture(scope="session")
def helm(cluster: LocalCluster) -> Helm:
    return Helm.for_cluster(cluster)


@pytest.fixture
def release() -> str:
    """A release name unique in the cluster (ClusterRoles are named after it)."""
    return f"tbop-{uuid.uuid4().hex[:8]}"
