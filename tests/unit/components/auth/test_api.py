"""The auth HTTP API as the gateway uses it: sign, refuse with a reason, hand out tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.unit.components.auth.fakes import SECRET, Claim, MemoryNonceStore, ScriptedTransport, credentials
from tradingbot_components.auth.api import AuthApi
from tradingbot_components.auth.signer import Signer
from tradingbot_components.auth.ws_token import WsTokenProvider
from tradingbot_components.kraken.signing import verify


class Parts:
    def __init__(self) -> None:
        self.store = MemoryNonceStore()
        self.signer: Signer | None = Signer(credentials(), self.store, Claim())  # type: ignore[arg-type]
        self.transport = ScriptedTransport([])
        self.tokens: WsTokenProvider | None = None


@pytest.fixture
async def api() -> AsyncIterator[tuple[TestClient, Parts]]:
    parts = Parts()
    app = web.Application()
    AuthApi(lambda: parts.signer, lambda: parts.tokens).add_to(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, parts
    finally:
        await client.close()


async def test_sign_refuses_until_the_mark_is_loaded_then_signs(api: tuple[TestClient, Parts]) -> None:
    client, parts = api
    request = {"path": "/0/private/Balance", "params": {}}
    refused = await client.post("/v1/sign", json=request)
    assert refused.status == 503
    assert "high-water mark" in (await refused.json())["message"]
    assert parts.signer is not None
    await parts.signer.load_mark()
    answer = await client.post("/v1/sign", json={**request, "params": {"asset": "ZUSD"}})
    body = await answer.json()
    assert answer.status == 200
    assert body["body"] == f"nonce={body['nonce']}&asset=ZUSD"
    assert verify("/0/private/Balance", body["nonce"], body["body"], SECRET, body["headers"]["API-Sign"])


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        ({"path": "/0/public/Time"}, "path"),
        ({"path": "/0/private/AddOrder", "params": {"volume": 0.1}}, "float"),
        ({"path": "/0/private/Balance", "body_format": "xml"}, "body_format"),
        ({"path": "/0/private/Balance", "extra": 1}, "extra"),
    ],
)
async def test_bad_requests_are_400_with_the_field(
    api: tuple[TestClient, Parts], request_body: dict[str, object], fragment: str
) -> None:
    client, parts = api
    assert parts.signer is not None
    await parts.signer.load_mark()
    answer = await client.post("/v1/sign", json=request_body)
    assert answer.status == 400
    assert fragment in str(await answer.json())
    assert parts.signer.signed == 0


async def test_storage_down_when_a_reservation_is_due_is_503(api: tuple[TestClient, Parts]) -> None:
    client, parts = api
    assert parts.signer is not None
    await parts.signer.load_mark()
    parts.store.fail = True
    answer = await client.post("/v1/sign", json={"path": "/0/private/Balance"})
    assert answer.status == 503
    assert "no nonce could be reserved" in (await answer.json())["message"]


async def test_ws_token_and_key_id(api: tuple[TestClient, Parts]) -> None:
    client, parts = api
    assert (await client.get("/v1/ws-token")).status == 503
    assert parts.signer is not None
    await parts.signer.load_mark()
    parts.transport.answers += [
        (200, {"error": [], "result": {"token": "tok-1", "expires": 900}}),
    ]
    parts.tokens = WsTokenProvider(parts.signer, parts.transport)  # type: ignore[arg-type]
    answer = await (await client.get("/v1/ws-token")).json()
    assert answer["token"] == "tok-1" and 899 < answer["expires_in"] <= 900
    key = await (await client.get("/v1/key")).json()
    assert key == {"key_id": parts.signer.credentials.key_id}


async def test_a_token_refused_by_kraken_is_502_with_kraken_s_errors(api: tuple[TestClient, Parts]) -> None:
    client, parts = api
    assert parts.signer is not None
    await parts.signer.load_mark()
    parts.transport.answers += [(200, {"error": ["EGeneral:Permission denied"]})]
    parts.tokens = WsTokenProvider(parts.signer, parts.transport)  # type: ignore[arg-type]
    answer = await client.get("/v1/ws-token")
    assert answer.status == 502
    assert (await answer.json())["errors"] == ["EGeneral:Permission denied"]
