"""The balance-manager as a real process on the exchange path (simulator, storage, auth, gateway), with its
private feed optionally through a `WsRelay`, and the comparisons the tests make against the simulator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.components.balance_manager.ws_relay import WsRelay
from tests.integration.components.connectivity.stack import Stack, write_config
from tests.integration.components.process import ComponentProcess, Reply
from tests.support.waiting import wait_until

PAIR = "XBT/USD"

# Quick enough for tests, and a reconcile interval long enough that a change seen within a test came from
# the WebSocket feed unless the test asks for reconciles.
QUIET = {
    "TRADINGBOT_BALANCE_MANAGER_RECONCILE_INTERVAL": "300",
    "TRADINGBOT_BALANCE_MANAGER_MAX_AGE": "600",
    "TRADINGBOT_BALANCE_MANAGER_SNAPSHOT_INTERVAL": "0.2",
}


@dataclass
class Rig:
    stack: Stack
    manager: ComponentProcess
    relay: WsRelay | None

    @property
    def sim(self):  # type: ignore[no-untyped-def]
        return self.stack.sim

    def balances(self) -> dict[str, Any]:
        reply = self.manager.get("/balances")
        assert reply.status == 200, reply.body
        return reply.json

    def balance_ex(self) -> dict[str, dict[str, str]]:
        """The exchange's BalanceEx, read through the gateway (the key's nonces come from auth alone)."""
        reply = self.stack.private("BalanceEx")
        assert reply.status == 200 and reply.json["error"] == [], reply.body
        return dict(reply.json["result"])

    def section(self) -> dict[str, Any]:
        return dict(self.manager.get("/healthz").json["balance_manager"])

    def health(self, component: str) -> dict[str, Any]:
        return dict(self.manager.get("/healthz").json["health"]["components"][component])

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of the balance-manager's /metrics (None when absent)."""
        text = self.manager.get("/metrics").body
        assert isinstance(text, str)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return None

    def matches_exchange(self) -> dict[str, Any] | None:
        """The served balances when they equal the simulator's BalanceEx (same assets, same figures)."""
        served = self.balances()
        if differences(served, self.balance_ex()):
            return None
        return served

    def wait_matches_exchange(
        self, timeout: float = 20, what: str = "balances to equal BalanceEx"
    ) -> dict[str, Any]:
        try:
            return wait_until(self.matches_exchange, timeout=timeout, what=what)
        except AssertionError:
            diff = differences(self.balances(), self.balance_ex())
            raise AssertionError(
                f"{what}: still different: {diff}\n{json.dumps(self.section(), indent=1)[:3000]}"
            ) from None

    def place(self, params: Mapping[str, Any]) -> str:
        reply = self.stack.private("AddOrder", {"pair": "XBTUSD", **params})
        assert reply.status == 200 and reply.json["error"] == [], reply.body
        return str(reply.json["result"]["txid"][0])

    def trades_of(self, txid: str) -> list[str]:
        """The trade ids of an order's fills so far (QueryOrders through the gateway)."""
        reply = self.stack.private("QueryOrders", {"txid": txid, "trades": True})
        assert reply.status == 200 and reply.json["error"] == [], reply.body
        return [str(trade) for trade in reply.json["result"][txid].get("trades") or []]


def differences(served: Mapping[str, Any], balance_ex: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Where `GET /balances` and `BalanceEx` disagree (amounts compared as decimals)."""
    found = []
    ours = served["balances"]
    if set(ours) != set(balance_ex):
        found.append(f"assets {sorted(ours)} != {sorted(balance_ex)}")
    for asset in set(ours) & set(balance_ex):
        mine, theirs = ours[asset], balance_ex[asset]
        total, held = Decimal(theirs["balance"]), Decimal(theirs.get("hold_trade", "0"))
        if Decimal(mine["total"]) != total:
            found.append(f"{asset} total {mine['total']} != {theirs['balance']}")
        if Decimal(mine["held"]) != held:
            found.append(f"{asset} held {mine['held']} != {theirs.get('hold_trade')}")
        if Decimal(mine["available"]) != total - held:
            found.append(f"{asset} available {mine['available']} != {total - held}")
    return found


def start_manager(
    stack: Stack,
    *,
    env: Mapping[str, str] | None = None,
    relay: WsRelay | None = None,
    wait: bool = True,
) -> ComponentProcess:
    document = {
        "rate_limiting": {"tier": "pro"},
        "trading": {"pairs": [PAIR]},
        "endpoints": {
            "exchange_rest": stack.sim.url_rest,
            "exchange_ws": relay.url if relay is not None else stack.sim.url_ws,
            "storage": stack.storage.url(""),
            "auth": stack.auth.url(""),
            "gateway": stack.gateway.url(""),
        },
    }
    path = write_config(stack.workdir / "balance-manager.json", document)
    manager = stack.components.start(
        "balance-manager", "--config", str(path), env={**stack.env, **QUIET, **(env or {})}
    )
    if wait:
        manager.wait_ready(timeout=60)
    else:
        manager.wait_port()
    return manager


def ready(process: ComponentProcess) -> Reply | None:
    reply = process.get("/readyz")
    return reply if reply.status == 200 else None


def not_ready(process: ComponentProcess) -> Reply | None:
    reply = process.get("/readyz")
    return reply if reply.status == 503 else None
