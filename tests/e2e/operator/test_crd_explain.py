"""`kubectl explain` is useful because the generated CRD carries descriptions."""

from __future__ import annotations

from tests.support.cluster import ROOT, LocalCluster
from tests.support.waiting import wait_until


def explain(cluster: LocalCluster, field: str) -> str:
    """The API server publishes a new CRD's OpenAPI a moment after it is Established: wait for it."""
    result = wait_until(
        lambda: (lambda r: r if r.returncode == 0 else None)(cluster.kubectl("explain", field, check=False)),
        timeout=30,
        what=f"kubectl explain {field}",
    )
    return result.stdout


def test_explain_shows_field_descriptions(cluster: LocalCluster, crd: None) -> None:
    out = explain(cluster, "tradingbot.spec.config.trading.profit_target")
    assert "Take-profit as a fraction of the entry price" in out
    out = explain(cluster, "tradingbot.spec.startup")
    assert "phaseTimeoutSeconds" in out and "rollbackOnFailure" in out


def test_short_name_and_printer_columns(cluster: LocalCluster, crd: None, namespace: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(ROOT / "examples" / "tradingbot.yaml"))
    header = cluster.kubectl("get", "tb", "-n", namespace).stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "PHASE", "HEALTH", "STARTUP", "AGE"]
