"""The balance-manager's Prometheus series. Samples are floats, fine for dashboards and alerts; the exact
figures are the decimal strings of `GET /balances`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tradingbot_components.balance_manager.ledger import BalanceLedger, ReconcileOutcome

PREFIX = "tradingbot_balance_manager_"


class _BalancesCollector(Collector):
    """Read at scrape time: the balances and their age."""

    def __init__(self, ledger: Callable[[], BalanceLedger | None], age: Callable[[], float | None]) -> None:
        self._ledger = ledger
        self._age = age

    def describe(self) -> Iterable[Metric]:
        return self._families(None, None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self._ledger(), self._age())

    def _families(self, ledger: BalanceLedger | None, age: float | None) -> list[Metric]:
        balance = GaugeMetricFamily(
            PREFIX + "balance",
            "Balance per asset (BalanceEx names): total, held and available",
            labels=["asset", "figure"],
        )
        age_family = GaugeMetricFamily(
            PREFIX + "balance_age_seconds",
            "Seconds since the balances were last known right (0 while the WS feed is synced)",
        )
        reconciled = GaugeMetricFamily(
            PREFIX + "last_reconcile_timestamp_seconds", "Unix time of the last REST reconcile"
        )
        orders = GaugeMetricFamily(PREFIX + "open_orders", "Open orders known from the executions feed")
        if ledger is not None:
            for asset, figures in ledger.view().assets.items():
                balance.add_metric([asset, "total"], float(figures.total))
                balance.add_metric([asset, "held"], float(figures.held))
                balance.add_metric([asset, "available"], float(figures.available))
            if ledger.reconciled_at is not None:
                reconciled.add_metric([], ledger.reconciled_at)
            orders.add_metric([], len(ledger.orders.orders))
        if age is not None:
            age_family.add_metric([], age)
        return [balance, age_family, reconciled, orders]


class BalanceMetrics:
    def __init__(
        self,
        registry: CollectorRegistry,
        ledger: Callable[[], BalanceLedger | None],
        age: Callable[[], float | None],
        feed_synced: Callable[[], bool],
    ) -> None:
        self.reconciles = Counter(
            PREFIX + "reconciles",
            "REST BalanceEx reconciles by result: ok, suspect (a mismatch to read again), drift (confirmed), "
            "failed (no usable BalanceEx)",
            ["result"],
            registry=registry,
        )
        self.drift = Gauge(
            PREFIX + "drift",
            "Exchange minus WS-kept figure at the last live comparison, per asset and figure (total, held)",
            ["asset", "figure"],
            registry=registry,
        )
        self.drift_detected = Counter(
            PREFIX + "drift_detected",
            "Confirmed disagreements between the WS-kept balances and REST beyond dust",
            ["asset", "figure"],
            registry=registry,
        )
        self.ws_messages = Counter(
            PREFIX + "ws_messages",
            "Private WS data messages applied, by channel",
            ["channel"],
            registry=registry,
        )
        self.snapshots = Counter(
            PREFIX + "snapshots",
            "Balance snapshots written to storage, by result",
            ["result"],
            registry=registry,
        )
        synced = Gauge(
            PREFIX + "feed_synced",
            "1 while the private balances/executions feed is synced",
            registry=registry,
        )
        synced.set_function(lambda: 1.0 if feed_synced() else 0.0)
        registry.register(_BalancesCollector(ledger, age))
        for result in ("ok", "suspect", "drift", "failed"):
            self.reconciles.labels(result)
        for result in ("stored", "failed"):
            self.snapshots.labels(result)

    def reconciled(self, outcome: ReconcileOutcome) -> None:
        self.reconciles.labels(outcome.result).inc()
        for (asset, figure), difference in outcome.differences.items():
            self.drift.labels(asset, str(figure)).set(float(difference))
        for mismatch in outcome.drift:
            self.drift_detected.labels(mismatch.asset, str(mismatch.figure)).inc()
