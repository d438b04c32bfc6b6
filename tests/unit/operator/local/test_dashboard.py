"""The dashboard as a user sees it, headless (Textual's pilot): components, performance, positions, alerts,
and the keys that restart a component and suspend the bot."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import DataTable, Static

from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.dashboard.app import Dashboard
from tradingbot_operator.dashboard.model import (
    DashboardModel,
    Headroom,
    Performance,
    Rates,
    parse_metrics,
    performance,
    positions,
    quantile,
)
from tradingbot_operator.local.health import as_resource
from tradingbot_operator.plugin.reading import read_bot

NAMES = list(COMPONENT_NAMES)  # the built-in components in startup order
PHASES = [
    "Infrastructure",
    "Infrastructure",
    "Auth",
    "Network",
    "Network",
    "Services",
    "Services",
    "Services",
]


def report(health: str = "Healthy") -> dict:
    rows = [
        {
            "name": n,
            "phase": p,
            "state": "Ready",
            "ready": "1/1",
            "health": "Healthy",
            "reason": "Healthy",
            "restarts": 0,
            "configGeneration": 1,
        }
        for n, p in zip(NAMES, PHASES, strict=True)
    ]
    rows[3] = {**rows[3], "health": health, "reason": "NotReady", "message": "0/1 pods ready"}
    return {
        "name": "kraken-local",
        "mode": "paper",
        "generation": 1,
        "status": {
            "phase": "Running",
            "health": health,
            "ready": "8/8",
            "startupPhase": "Complete",
            "components": rows,
            "alerts": [
                {
                    "time": "2026-11-29T01:00:00Z",
                    "severity": "critical",
                    "component": "gateway",
                    "reason": "ComponentUnhealthy",
                    "message": "gateway is NotReady",
                }
            ],
        },
    }


class FakeSource:
    title = "tradingbot kraken-local"

    def __init__(self) -> None:
        self.restarted: list[str] = []
        self.suspended: list[bool] = []

    async def fetch(self) -> DashboardModel:
        return DashboardModel(
            bot=read_bot(as_resource(report("Unhealthy"))),
            where="local (paper)",
            updated=datetime.now(UTC),
            performance=Performance(
                gateway_calls_per_second=2.5,
                headroom=(Headroom("rest", 12.0, 19.9),),
                breaker="closed",
                book_messages_per_second=40.0,
                tick_to_order_p50=0.02,
                tick_to_order_p99=0.2,
                orders=3,
            ),
            positions=positions(
                {
                    "positions": [
                        {
                            "pair": "BTC/USD",
                            "quantity": "0.5",
                            "average_price": "60000",
                            "market_price": "60100",
                            "unrealized_pnl": "50",
                            "realized_pnl": "1",
                        }
                    ],
                    "realized_pnl": "1",
                }
            )[0],
            realized_pnl="1",
            alerts=tuple(read_bot(as_resource(report())).status.alerts),
            suspended=bool(self.suspended and self.suspended[-1]),
        )

    async def restart(self, component: str) -> str:
        self.restarted.append(component)
        return f"restart of {component} requested"

    async def suspend(self, suspend: bool) -> str:
        self.suspended.append(suspend)
        return "suspending"


async def test_the_dashboard_renders_every_component_and_reacts_to_keys() -> None:
    source = FakeSource()
    app = Dashboard(source, refresh=60)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        table = app.query_one("#components", DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == NAMES
        summary = str(app.query_one("#summary", Static).render())
        assert "kraken-local: Running, Unhealthy, 8/8 ready, startup Complete" in summary
        assert "2.50" in str(app.query_one("#performance", Static).render())
        assert "BTC/USD" in str(app.query_one("#positions", Static).render())
        assert "ComponentUnhealthy" in str(app.query_one("#alerts", Static).render())

        await pilot.press("down", "down", "down", "r")
        await pilot.pause()
        assert source.restarted == ["gateway"]
        assert "restart of gateway requested" in str(app.query_one("#message", Static).render())
        await pilot.press("s")
        await pilot.pause()
        assert source.suspended == [True]
        assert "SUSPENDED" in str(app.query_one("#summary", Static).render())
        await pilot.press("s", "R")
        await pilot.pause()
        assert source.suspended == [True, False] and source.restarted == ["gateway", "all"]
        await pilot.press("q")


METRICS = """# TYPE tradingbot_gateway_calls_total counter
tradingbot_gateway_calls_total{method="AddOrder",outcome="ok"} 10.0
tradingbot_gateway_calls_total{method="Balance",outcome="ok"} 5.0
# TYPE kraken_rate_counter_headroom gauge
kraken_rate_counter_headroom{counter="rest",governor="gateway"} 12.5
# TYPE kraken_rate_counter_cap gauge
kraken_rate_counter_cap{counter="rest",governor="gateway"} 19.9
# TYPE kraken_breaker_state gauge
kraken_breaker_state{breaker="kraken-rest",state="closed"} 0.0
kraken_breaker_state{breaker="kraken-rest",state="open"} 1.0
"""
TRADER = """# TYPE tradingbot_trader_tick_to_order_seconds histogram
tradingbot_trader_tick_to_order_seconds_bucket{le="0.01"} 1.0
tradingbot_trader_tick_to_order_seconds_bucket{le="0.05"} 8.0
tradingbot_trader_tick_to_order_seconds_bucket{le="0.2"} 10.0
tradingbot_trader_tick_to_order_seconds_bucket{le="+Inf"} 10.0
tradingbot_trader_tick_to_order_seconds_count 10.0
tradingbot_trader_tick_to_order_seconds_sum 0.4
"""


def test_performance_comes_from_the_components_metrics() -> None:
    rates = Rates()
    first = performance(parse_metrics(METRICS), [], parse_metrics(TRADER), rates, now=100.0)
    assert first.gateway_calls_per_second is None  # one scrape: no rate yet
    assert first.breaker == "open"
    assert first.headroom == (Headroom("rest", 12.5, 19.9),)
    assert first.tick_to_order_p50 == 0.05 and first.tick_to_order_p99 == 0.2
    later = METRICS.replace("} 10.0", "} 30.0")
    second = performance(parse_metrics(later), [], [], rates, now=110.0)
    assert second.gateway_calls_per_second == 2.0
    assert quantile([], "x", 0.5) is None


class FakeCluster:
    """The plugin session's calls the cluster source makes."""

    core = type("Core", (), {"list_namespaced_event": object()})()

    def __init__(self) -> None:
        self.patches: list[dict] = []

    def get_bot(self, name: str) -> dict:
        raw = as_resource(report("Unhealthy"))
        raw["metadata"] |= {"name": name, "namespace": "bots", "uid": "u1", "resourceVersion": "7"}
        return raw

    def call(self, method, *args, **kwargs) -> dict:
        return {
            "items": [
                {
                    "type": "Warning",
                    "reason": "ComponentUnhealthy",
                    "message": "gateway is NotReady",
                    "lastTimestamp": "2026-11-29T01:00:00Z",
                    "involvedObject": {"kind": "TradingBot", "name": "kraken-main", "uid": "u1"},
                }
            ]
        }

    def patch_bot(self, name: str, patch: dict) -> dict:
        self.patches.append(patch)
        return {}


async def test_the_cluster_view_reads_the_status_and_annotates_for_restarts() -> None:
    from tradingbot_operator.dashboard.sources import ClusterSource

    cluster = FakeCluster()
    source = ClusterSource(cluster, "kraken-main")
    model = await source.fetch()
    assert model.where == "cluster, namespace bots"
    assert [r.name for r in model.bot.status.components] == NAMES
    assert model.alerts[0].reason == "ComponentUnhealthy"
    said = await source.restart("gateway")
    assert "restart of gateway requested" in said
    assert cluster.patches[0]["metadata"]["annotations"] == {"tradingbot.dev/restart": "gateway"}
    await source.suspend(True)
    assert cluster.patches[1] == {"spec": {"suspend": True}}
