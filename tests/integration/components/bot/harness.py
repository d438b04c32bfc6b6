"""The whole bot as real processes on 127.0.0.1, started in the operator's phase order against the exchange
simulator: storage, exchange-sim (Infrastructure) → auth (Auth) → gateway, market-data (Network) →
balance-manager, portfolio, trader (Services).

Each component gets the same config document (like the bot's ConfigMap) with `endpoints.*` pointing at the
ports the OS gave the components started before it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.components.connectivity.stack import Stack, start_stack, write_config
from tests.integration.components.process import ComponentProcess, ComponentRunner, Reply
from tests.support.waiting import wait_until

PAIR = "XBT/USD"  # as configured; the WS v2 symbol is BTC/USD
SYMBOL = "BTC/USD"

FAST_TRADER = {
    # Short enough that tests see every step, within Kraken's ranges.
    "TRADINGBOT_TRADER_ORDER_DEADLINE": "5",
    "TRADINGBOT_TRADER_DEAD_MAN_INTERVAL": "5",
    "TRADINGBOT_TRADER_CANCEL_TIMEOUT": "10",
}


@dataclass
class Bot:
    stack: Stack
    market_data: ComponentProcess
    balance_manager: ComponentProcess
    portfolio: ComponentProcess
    trader: ComponentProcess | None
    document: dict[str, Any]
    workdir: Path
    trader_env: dict[str, str] = field(default_factory=dict)
    trader_args: tuple[str, ...] = ()

    @property
    def sim(self):  # type: ignore[no-untyped-def]
        return self.stack.sim

    @property
    def components(self) -> ComponentRunner:
        return self.stack.components

    def config_path(self, name: str) -> Path:
        return self.workdir / f"{name}.json"

    def start_trader(
        self, *args: str, env: Mapping[str, str] | None = None, wait: bool = True
    ) -> ComponentProcess:
        self.trader_env = {**FAST_TRADER, **self.stack.env, **(env or {})}
        self.trader_args = args or self.trader_args
        write_config(self.config_path("trader"), self.document)
        trader = self.components.start(
            "trader", "--config", str(self.config_path("trader")), *self.trader_args, env=self.trader_env
        )
        if wait:
            trader.wait_ready(timeout=60)
        self.trader = trader
        return trader

    def update_config(self, section: str, key: str, value: Any) -> None:
        """A hot change to every component's document (as the operator would patch the ConfigMap)."""
        self.document.setdefault(section, {})[key] = value
        for path in self.workdir.glob("*.json"):
            if path.stem in ("trader", "portfolio", "balance-manager", "market-data"):
                write_config(path, self.document)

    def orders(self) -> list[dict[str, Any]]:
        assert self.trader is not None
        reply = self.trader.get("/orders")
        assert reply.status == 200, reply.body
        return list(reply.json["orders"])

    def positions(self) -> dict[str, Any]:
        return self.portfolio.get("/positions").json

    def balances(self) -> dict[str, Any]:
        return self.balance_manager.get("/balances").json

    def exchange(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """A private call on the bot's account, through its gateway: signing it here with the key would use
        nonces of another scale than auth's and break the bot's next call (as two clients of one key do)."""
        reply = self.stack.private(method, params)
        assert reply.status == 200 and reply.json["error"] == [], reply.body
        return reply.json["result"]

    def sim_orders(self) -> dict[str, dict[str, Any]]:
        """Every order of the account at the simulator, open and closed, by txid."""
        open_ = self.exchange("OpenOrders")["open"]
        closed: dict[str, Any] = {}
        offset = 0
        while True:
            page = self.exchange("ClosedOrders", {"ofs": offset})
            closed.update(page["closed"])
            offset += len(page["closed"])
            if offset >= page["count"] or not page["closed"]:
                break
        return {**open_, **closed}

    def sim_balance_ex(self) -> dict[str, dict[str, str]]:
        return dict(self.exchange("BalanceEx"))

    def processes(self) -> dict[str, ComponentProcess]:
        """Every process of the bot, the simulator included, by component name."""
        stack = self.stack
        found = {
            "exchange-sim": stack.sim.process,
            "storage": stack.storage,
            "auth": stack.auth,
            "gateway": stack.gateway,
            "market-data": self.market_data,
            "balance-manager": self.balance_manager,
            "portfolio": self.portfolio,
        }
        return found if self.trader is None else {**found, "trader": self.trader}


def start_bot(
    components: ComponentRunner,
    tmp_path: Path,
    *,
    tier: str = "pro",
    trading: Mapping[str, Any] | None = None,
    start_trader: bool = True,
    trader_args: tuple[str, ...] = (),
    trader_env: Mapping[str, str] | None = None,
    sim_env: Mapping[str, str] | None = None,
    gateway_env: Mapping[str, str] | None = None,
    component_env: Mapping[str, Mapping[str, str]] | None = None,
) -> Bot:
    """`component_env`: extra environment for market-data, balance-manager or portfolio, by name."""
    stack = start_stack(components, tmp_path, tier=tier, sim_env=sim_env, gateway_env=gateway_env)
    workdir = stack.workdir
    document: dict[str, Any] = {
        "rate_limiting": {"tier": tier},
        "circuit_breaker": {"failure_threshold": 3, "recovery_timeout": 1.0},
        "storage": {"sqlite_path": str(workdir / "storage.db")},
        "trading": {"pairs": [PAIR], "profit_target": 0.005, "max_position_size": 100.0, **(trading or {})},
        "endpoints": {
            "exchange_rest": stack.sim.url_rest,
            "exchange_ws": stack.sim.url_ws,
            "storage": stack.storage.url(""),
            "auth": stack.auth.url(""),
            "gateway": stack.gateway.url(""),
        },
    }

    def launch(name: str, env: Mapping[str, str] | None = None) -> ComponentProcess:
        path = write_config(workdir / f"{name}.json", copy.deepcopy(document))
        process = components.start(name, "--config", str(path), env={**stack.env, **(env or {})})
        process.wait_ready(timeout=60)
        return process

    extra = component_env or {}
    market_data = launch("market-data", extra.get("market-data"))
    document["endpoints"]["market_data"] = f"ws://127.0.0.1:{market_data.port}/stream"
    balance_manager = launch("balance-manager", extra.get("balance-manager"))
    document["endpoints"]["balance_manager"] = balance_manager.url("")
    portfolio = launch("portfolio", extra.get("portfolio"))
    document["endpoints"]["portfolio"] = portfolio.url("")
    bot = Bot(
        stack, market_data, balance_manager, portfolio, None, document, workdir, trader_args=trader_args
    )
    if start_trader:
        bot.start_trader(*trader_args, env=trader_env)
    return bot


def decimal_of(reply: Reply, *path: str) -> Decimal:
    value: Any = reply.json
    for key in path:
        value = value[key]
    return Decimal(str(value))


def wait_for_orders(
    bot: Bot, predicate: Any, timeout: float = 30, what: str = "the trader's orders"
) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        orders = bot.orders()
        return orders if predicate(orders) else None

    return wait_until(check, timeout=timeout, what=what)


def dump(bot: Bot) -> str:
    """Everything worth seeing when a bot test fails."""
    parts = {}
    for name, process in (
        ("trader", bot.trader),
        ("portfolio", bot.portfolio),
        ("balance-manager", bot.balance_manager),
    ):
        if process is not None:
            parts[name] = process.get("/healthz").body
    return json.dumps(parts, indent=1, default=str)[:6000]
