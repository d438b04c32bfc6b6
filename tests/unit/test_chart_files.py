"""Packaging files agree with the code: the chart's CRD copy, versions, the values schema, the Dockerfile."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tradingbot_operator.api import constants

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "tradingbot-operator"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_chart_crd_is_a_byte_identical_copy_of_the_generated_one() -> None:
    generated = (ROOT / "crds" / "tradingbot.dev_tradingbots.yaml").read_bytes()
    copied = (CHART / "crds" / "tradingbot.dev_tradingbots.yaml").read_bytes()
    assert copied == generated, (
        "charts/tradingbot-operator/crds/ differs from crds/: "
        "cp crds/tradingbot.dev_tradingbots.yaml charts/tradingbot-operator/crds/"
    )


def test_chart_versions_and_default_image_follow_the_project() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert chart["appVersion"] == PYPROJECT["project"]["version"]
    # With default values the operator and its components run the image the operator would pick by itself.
    assert f"{values['image']['repository']}:{chart['appVersion']}" == constants.DEFAULT_IMAGE


def _objects(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path or "/", schema)] if "properties" in schema else []
    for key, child in schema.get("properties", {}).items():
        found += _objects(child, f"{path}/{key}")
    if isinstance(schema.get("items"), dict):
        found += _objects(schema["items"], f"{path}[]")
    return found


def test_values_schema_closes_every_object_and_covers_every_default() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = [path for path, obj in _objects(schema) if obj.get("additionalProperties") is not False]
    assert not open_objects, f"objects that would accept typos: {open_objects}"

    def undeclared(values: dict[str, Any], node: dict[str, Any], path: str) -> list[str]:
        missing = []
        for key, value in values.items():
            child = node.get("properties", {}).get(key)
            if child is None:
                if node.get("additionalProperties") is False:
                    missing.append(f"{path}/{key}")
            elif isinstance(value, dict) and "properties" in child:
                missing += undeclared(value, child, f"{path}/{key}")
        return missing

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not undeclared(values, schema, ""), "values.yaml keys missing from values.schema.json"


def test_dockerfile_runs_non_root_with_both_entry_points() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    scripts = PYPROJECT["project"]["scripts"]
    assert {"tradingbot-operator", "tradingbot-component"} <= set(scripts)
    assert 'ENTRYPOINT ["tradingbot-operator"]' in dockerfile
    assert re.search(r"^USER 10001(:10001)?$", dockerfile, re.MULTILINE)
    # Every file copied from the build context must survive the .dockerignore allow-list.
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        source.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert sources and set(sources) <= allowed, (
        f"COPY sources {sources} vs .dockerignore allow-list {allowed}"
    )


def _exported_metric_names() -> set[str]:
    """Every sample name the operator and the components export, from their own metric definitions."""
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry

    from tradingbot_components.config.manager import ConfigMetrics
    from tradingbot_components.gateway.metrics import GatewayMetrics
    from tradingbot_components.kraken import breaker, rate_limit
    from tradingbot_components.market_data.metrics import MarketDataCollector, Sources
    from tradingbot_components.portfolio.metrics import PortfolioCollector
    from tradingbot_components.portfolio.metrics import Sources as PortfolioSources
    from tradingbot_components.runtime.health_metrics import HealthMetrics
    from tradingbot_components.trader.engine import TraderMetrics
    from tradingbot_operator.reconciler.metrics import OperatorMetrics

    families = []
    for metrics in (OperatorMetrics, GatewayMetrics, TraderMetrics, ConfigMetrics, HealthMetrics):
        registry = CollectorRegistry()  # one each: the operator and the components both export alerts_total
        metrics(registry)
        families += list(registry.collect())
    hub = SimpleNamespace(clients=[], dropped=0, slow_disconnects=0)
    families += [
        *MarketDataCollector(Sources(hub=hub), clock=lambda: 0.0).describe(),  # type: ignore[arg-type]
        *PortfolioCollector(PortfolioSources()).describe(),
        *breaker._render_metrics([]),
        *rate_limit._render_metrics([]),
    ]
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("_sum", "_count"),
    }
    names = set()
    for family in families:
        base = family.name.removesuffix("_total") if family.type == "counter" else family.name
        names |= {base + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def test_grafana_dashboard_queries_use_only_metrics_the_code_exports() -> None:
    dashboard = json.loads((CHART / "dashboards" / "tradingbot.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    queries = [t["expr"] for p in panels for t in p["targets"]]
    used = {name for expr in queries for name in re.findall(r"\b(?:tradingbot|kraken)_[a-z_]+\b", expr)}
    exported = _exported_metric_names()
    assert used - exported == set(), f"queries name metrics nothing exports: {sorted(used - exported)}"
    # The dashboard covers what it promises: the operator's health and recovery, and the components' paths.
    for wanted in (
        "tradingbot_component_health",
        "tradingbot_recovery_actions_total",
        "tradingbot_gateway_calls_total",
        "kraken_rate_counter_headroom",
        "kraken_breaker_state",
        "tradingbot_market_data_book_updates_total",
        "tradingbot_trader_tick_to_order_seconds_bucket",
        "tradingbot_portfolio_realized_pnl",
    ):
        assert wanted in used, wanted
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "tradingbot-overview"


def test_grafana_dashboard_is_off_by_default() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["grafana"]["dashboard"]["enabled"] is False
    template = (CHART / "templates" / "grafana-dashboard.yaml").read_text()
    assert '.Files.Get "dashboards/tradingbot.json"' in template
