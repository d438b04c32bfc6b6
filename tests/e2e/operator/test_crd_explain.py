"""`kubectl explain` is useful because the generated CRD carries descriptions."""

from __future__ import annotations

from tests.support.cluster import LocalCluster


def test_explain_shows_field_descriptions(cluster: LocalCluster, crd: None) -> None:
    out = cluster.kubectl("explain", "tradingbot.spec.config.trading.profit_target").stdout
    assert "Take-profit as a fraction of the entry price" in out
    out = cluster.kubectl("explain", "tradingbot.spec.startup").stdout
    assert "phaseTimeoutSeconds" in out and "rollbackOnFailure" in out


def test_short_name_and_printer_columns(cluster: LocalCluster, crd: None, namespace: str) -> None:
    out = cluster.kubectl("get", "tb", "-n", namespace).stderr
    assert "No resources found" in out
