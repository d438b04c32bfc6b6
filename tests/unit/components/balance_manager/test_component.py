"""The balance-manager process as built from its factory: route, step, health entries, settings errors, and
the service's reactions without a network (reference data Kraken refuses, an unreadable balances frame)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from tests.unit.components.balance_manager.scenario import ASSETS, balances_snapshot, ledger_rows, rest
from tradingbot_components.app import Options, build_app
from tradingbot_components.balance_manager.component import BalanceManagerService
from tradingbot_components.clients.gateway import GatewayReply
from tradingbot_components.config.manager import ConfigRejected
from tradingbot_components.runtime import HealthStatus


def app_with(environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return build_app(Options("balance-manager", host="127.0.0.1", port=0), environ=environ or {})


async def test_the_factory_wires_the_route_step_and_health() -> None:
    app = app_with()
    assert "balance-manager" in set(app.sequence.status())
    components = app.monitor.components()
    assert {name: view.critical for name, view in components.items() if name != "config"} == {
        "balances": True,  # readiness
        "balances-feed": False,  # a feed outage is survivable on REST reconciles
        "balance-drift": False,  # alerted, never a reason to be unready
        "balance-snapshots": False,
    }
    service = await app.container.resolve(BalanceManagerService)
    reply = await service.balances(make_mocked_request("GET", "/balances"))
    assert reply.status == 503
    assert "not reconciled" in json.loads(reply.text)["error"]  # type: ignore[arg-type]
    result = await service.check_balances()
    assert result.status is HealthStatus.UNKNOWN


def test_bad_settings_are_a_rejected_config_naming_the_variable() -> None:
    with pytest.raises(ConfigRejected) as raised:
        app_with({"TRADINGBOT_BALANCE_MANAGER_DUST": "-1"})
    assert "TRADINGBOT_BALANCE_MANAGER_DUST" in str(raised.value)


class RefusingPairs:
    """Assets answers; AssetPairs is refused by Kraken itself (a pair it does not list)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def public(self, method: str, **params: str) -> GatewayReply:
        self.calls.append(method)
        if method == "Assets":
            return GatewayReply(method, 200, (), ASSETS)
        return GatewayReply(method, 200, ("EQuery:Unknown asset pair",), None)


class UnavailableOnce:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def public(self, method: str, **params: str) -> GatewayReply:
        self.calls.append(method)
        if len(self.calls) == 1:
            return GatewayReply(method, 503, ("EGateway:Circuit open",), None)
        return GatewayReply(method, 200, (), ASSETS if method == "Assets" else {})


async def test_reference_data_kraken_refuses_is_given_up_not_waited_for() -> None:
    service = await app_with().container.resolve(BalanceManagerService)
    service.gateway = RefusingPairs()  # type: ignore[assignment]
    await service._load_reference()
    assert service.gateway.calls == ["Assets", "AssetPairs"]  # type: ignore[attr-defined]
    assert service.reference_problems == ["AssetPairs: AssetPairs: EQuery:Unknown asset pair"]
    assert service.reference_error is None
    assert service.names.rest_id("BTC") == "XXBT"


async def test_reference_data_the_gateway_cannot_answer_is_asked_again() -> None:
    service = await app_with().container.resolve(BalanceManagerService)
    service.gateway = UnavailableOnce()  # type: ignore[assignment]
    await service._load_reference()
    assert service.gateway.calls == ["Assets", "AssetPairs", "Assets"]  # type: ignore[attr-defined]
    assert service.reference_problems == []


class DroppableFeed:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop(self, reason: str) -> None:
        self.dropped.append(reason)


async def test_an_unreadable_balances_frame_drops_the_feed_for_fresh_snapshots() -> None:
    service = await app_with().container.resolve(BalanceManagerService)
    service.ledger.reconcile(rest(ZUSD=("5.0000", "0.0000")), since=0, live=False, confirming=False, now=1.0)
    feed: Any = DroppableFeed()
    service.feed = feed
    service.on_message(balances_snapshot(USD="5.0000"))
    bad = ledger_rows(("USD", "-1", "4"))
    bad["data"][0]["balance"] = None
    service.on_message(bad)
    assert len(feed.dropped) == 1 and "unreadable balances frame" in feed.dropped[0]
    assert service.bad_frames == 1
    assert str(service.ledger.totals["ZUSD"]) == "5.0000"
