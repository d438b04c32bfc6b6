"""The trading engine's bookkeeping of holdings: fills seen live are applied once, and fills it only learns
of from totals (a reconnect snapshot, a lookup after a feed gap) are caught up at their exact average."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

from prometheus_client import CollectorRegistry

from tradingbot_components.storage.models import OrderStatus, Side
from tradingbot_components.strategy.api import Limits, OrderView, Strategy
from tradingbot_components.trader.engine import TraderMetrics, TradingEngine
from tradingbot_components.trader.ledger import OrderLedger


class RecordingExecutor:
    """Stands in for the executor's storage and exchange calls; records what the engine asked for."""

    def __init__(self) -> None:
        self.persisted: list[str] = []

    async def persist(self, order: OrderView) -> None:
        self.persisted.append(order.cl_ord_id)

    async def refresh(self, cl_ord_id: str) -> None:
        return None


def engine() -> TradingEngine:
    ledger = OrderLedger()
    ledger.put(
        OrderView(
            "c1", "BTC/USD", Side.BUY, D("0.003"), D("100"), OrderStatus.NEW, D(0), None, "entry", 1.0, "O1"
        )
    )
    return TradingEngine(
        Strategy(),
        executor=RecordingExecutor(),  # type: ignore[arg-type]
        ledger=ledger,
        rules={},
        limits=lambda: Limits(D("0.005"), D("100")),
        balances=None,  # type: ignore[arg-type]
        portfolio=None,  # type: ignore[arg-type]
        metrics=TraderMetrics(CollectorRegistry()),
    )


def entry(kind: str, cum: str, cost: str, **fill: Any) -> dict[str, Any]:
    return {
        "exec_type": kind,
        "order_id": "O1",
        "cl_ord_id": "c1",
        "symbol": "BTC/USD",
        "side": "buy",
        "order_type": "limit",
        "order_qty": D("0.003"),
        "cum_qty": D(cum),
        "cum_cost": D(cost),
        "avg_price": D(cost) / D(cum) if D(cum) else D(0),
        "order_status": "partially_filled",
        "timestamp": "2026-11-28T23:00:00Z",
        **fill,
    }


def test_a_live_fill_is_applied_once_and_a_snapshot_catches_up_only_the_rest() -> None:
    asyncio.run(_live_then_snapshot())


async def _live_then_snapshot() -> None:
    e = engine()
    live = entry("trade", "0.001", "0.1", exec_id="T1", last_qty=D("0.001"), last_price=D("100"))
    e.on_executions({"type": "update", "data": [live]})
    e.on_executions({"type": "update", "data": [live]})  # replayed
    assert e.holdings["BTC/USD"].quantity == D("0.001")
    # The feed was down while two more fills happened (at 103 and 106): the snapshot shows only totals.
    e.on_executions({"type": "snapshot", "data": [entry("new", "0.003", "0.309")]})
    holding = e.holdings["BTC/USD"]
    assert holding.quantity == D("0.003")
    assert holding.quantity * holding.average_price == D("0.309")  # the missed fills at their exact cost
    await asyncio.sleep(0)  # let the spawned persists run
    assert e.executor.persisted.count("c1") == 2  # type: ignore[attr-defined]
