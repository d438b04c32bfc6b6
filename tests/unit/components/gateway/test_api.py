"""The gateway HTTP API: Kraken's methods by name, Kraken's envelope back, refusals in the same shape."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.unit.components.gateway.fakes import Rig, envelope
from tradingbot_components.gateway.api import GatewayApi


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[TestClient, Rig]]:
    rig = Rig()
    app = web.Application()
    GatewayApi(lambda: rig.dispatcher).add_to(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, rig
    finally:
        await client.close()


async def test_public_calls_forward_the_query_exactly(gateway: tuple[TestClient, Rig]) -> None:
    client, rig = gateway
    rig.exchange.script("Ticker", envelope(result={"XXBTZUSD": {"c": ["1", "1"]}}))
    answer = await client.get("/public/Ticker?pair=XBTUSD&asset=A%26B")
    assert answer.status == 200
    assert await answer.json() == {"error": [], "result": {"XXBTZUSD": {"c": ["1", "1"]}}}
    assert answer.headers["X-Gateway-Attempts"] == "1" and answer.headers["X-Gateway-Outcome"] == "ok"
    assert rig.exchange.sent == [("Ticker", "pair=XBTUSD&asset=A%26B")]  # not decoded on the way


async def test_private_calls_take_a_json_object_of_params(gateway: tuple[TestClient, Rig]) -> None:
    client, rig = gateway
    rig.exchange.script("CancelOrder", envelope("EOrder:Unknown order"))
    answer = await client.post("/private/CancelOrder?pair=XBTUSD&order_age=30", json={"txid": "OABC"})
    assert answer.status == 200
    assert (await answer.json())["error"] == ["EOrder:Unknown order"]
    assert rig.auth.requests[0][:2] == ("CancelOrder", {"txid": "OABC"})
    assert rig.governor.level("XBTUSD") == 4  # a cancel of a 30 s old order: +4 on that pair
    empty = await client.post("/private/Balance")
    assert empty.status == 200


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/private/Add-Order", "{}", "not a Kraken method"),
        ("/private/Balance", "[1, 2]", "JSON object"),
        ("/private/Balance", "{oops", "JSON object"),
        ("/private/Balance", '{"nonce": 5}', "leave out 'nonce'"),
        ("/private/CancelOrder?order_age=old", "{}", "order_age"),
    ],
)
async def test_requests_that_cannot_be_sent_are_400_in_kraken_s_shape(
    gateway: tuple[TestClient, Rig], path: str, body: str, fragment: str
) -> None:
    client, rig = gateway
    answer = await client.post(path, data=body)
    document = await answer.json()
    assert answer.status == 400 and document["result"] is None
    assert document["error"][0].startswith("EGeneral:Invalid arguments:") and fragment in document["error"][0]
    assert rig.exchange.sent == []


async def test_a_gateway_that_is_starting_says_so() -> None:
    app = web.Application()
    GatewayApi(lambda: None).add_to(app)
    async with TestClient(TestServer(app)) as client:
        answer = await client.get("/public/Time")
        assert answer.status == 503
        assert (await answer.json())["error"][0].startswith("EGateway:Starting")
