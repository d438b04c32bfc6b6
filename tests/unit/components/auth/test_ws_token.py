"""WebSocket tokens: when a cached one may be handed out, when to refresh, and fetching with retries."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.support.waiting import async_wait_until
from tests.unit.components.auth.fakes import Claim, MemoryNonceStore, ScriptedTransport, credentials
from tradingbot_components.auth.signer import Signer
from tradingbot_components.auth.ws_token import (
    TokenPolicy,
    TokenUnavailable,
    WsToken,
    WsTokenProvider,
    fresh_enough,
    next_refresh,
    parse_token,
)
from tradingbot_components.kraken.transport import parse_reply

POLICY = TokenPolicy()
OK = (200, {"error": [], "result": {"token": "tok-1", "expires": 900}})


def test_a_token_is_handed_out_while_half_its_validity_remains() -> None:
    token = WsToken("t", fetched_at=1000.0, validity=900.0)
    assert fresh_enough(token, 1000.0, POLICY)
    assert fresh_enough(token, 1450.0, POLICY)
    assert not fresh_enough(token, 1451.0, POLICY)
    assert not fresh_enough(None, 1000.0, POLICY)


def test_background_refresh_runs_only_while_consumers_ask() -> None:
    token = WsToken("t", fetched_at=1000.0, validity=900.0)
    assert next_refresh(token, None, 1000.0, POLICY) is None  # nobody asked: spend no points
    assert next_refresh(None, 1000.0, 1000.0, POLICY) == 0.0
    assert next_refresh(token, 1000.0, 1100.0, POLICY) == 350.0
    assert next_refresh(token, 1000.0, 1500.0, POLICY) == 0.0
    assert next_refresh(token, 1000.0, 1000.0 + 901, POLICY) is None  # consumers went quiet


def test_parse_token_reads_kraken_s_answer() -> None:
    token = parse_token(
        parse_reply("GetWebSocketsToken", 200, '{"error":[],"result":{"token":"x","expires":600}}'), 5.0
    )
    assert (token.token, token.expires_at) == ("x", 605.0)
    with pytest.raises(TokenUnavailable, match="Permission denied") as raised:
        parse_token(parse_reply("GetWebSocketsToken", 200, '{"error":["EGeneral:Permission denied"]}'), 5.0)
    assert raised.value.errors == ("EGeneral:Permission denied",)
    with pytest.raises(TokenUnavailable, match="no answer"):
        parse_token(parse_reply("GetWebSocketsToken", 520, "error code: 520"), 5.0)
    assert "tok" not in repr(WsToken("tok-secret", 0, 1))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def provider(
    answers: list[tuple[int, object]], clock: Clock
) -> tuple[WsTokenProvider, ScriptedTransport]:
    signer = Signer(credentials(), MemoryNonceStore(), Claim())  # type: ignore[arg-type]
    await signer.load_mark()
    transport = ScriptedTransport(answers)  # type: ignore[arg-type]
    return WsTokenProvider(signer, transport, clock=clock), transport  # type: ignore[arg-type]


async def test_tokens_are_cached_and_fetched_again_when_half_spent() -> None:
    clock = Clock()
    tokens, transport = await provider(
        [OK, (200, {"error": [], "result": {"token": "tok-2", "expires": 900}})], clock
    )
    assert (await tokens.get()).token == "tok-1"
    clock.now += 400
    assert (await tokens.get()).token == "tok-1"
    clock.now += 100
    assert (await tokens.get()).token == "tok-2"
    assert len(transport.sent) == 2


async def test_an_invalid_nonce_is_answered_with_a_fresh_signature() -> None:
    tokens, transport = await provider([(200, {"error": ["EAPI:Invalid nonce"]}), OK], Clock())
    assert (await tokens.get()).token == "tok-1"
    first, second = (body for _, body, _ in transport.sent)
    assert first != second  # a new nonce, not the same request again


async def test_a_permission_error_is_not_retried() -> None:
    tokens, transport = await provider([(200, {"error": ["EGeneral:Permission denied"]})], Clock())
    with pytest.raises(TokenUnavailable, match="Permission denied"):
        await tokens.get()
    assert len(transport.sent) == 1 and tokens.status()["last_error"] is not None


async def test_the_background_refresh_replaces_a_half_spent_token_for_an_active_consumer() -> None:
    clock = Clock()
    second = (200, {"error": [], "result": {"token": "tok-2", "expires": 900}})
    tokens, transport = await provider([OK, second], clock)
    assert (await tokens.get()).token == "tok-1"
    clock.now += 451  # past half its validity, and the consumer asked within the last 15 minutes
    refresher = asyncio.create_task(tokens.run())
    try:

        async def refreshed() -> bool:
            return tokens.fetched == 2

        await async_wait_until(refreshed, timeout=5, what="the background refresh")
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
    assert len(transport.sent) == 2
    assert (await tokens.get()).token == "tok-2"  # served from the cache, no third request
    assert len(transport.sent) == 2
