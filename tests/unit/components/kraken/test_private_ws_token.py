"""The private feed without a token (auth down or restarting): an expected failure, retried with backoff
and reported as such, not logged as an unexpected error."""

from __future__ import annotations

import logging

import pytest

from tests.support.waiting import async_wait_until
from tradingbot_components.clients.base import ServiceUnavailable
from tradingbot_components.kraken.private_ws import PrivateChannel, PrivateFeed
from tradingbot_components.market_data.reconnect import ReconnectPolicy


async def test_a_missing_token_is_retried_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def no_token() -> str:
        nonlocal calls
        calls += 1
        raise ServiceUnavailable("auth at http://127.0.0.1:1 is unreachable", before_sending=True)

    feed = PrivateFeed(
        "ws://127.0.0.1:1/v2",
        no_token,
        [PrivateChannel("executions")],
        lambda _message: None,
        policy=ReconnectPolicy(quick_attempts=5, quick_jitter=0.01),
    )
    caplog.set_level(logging.WARNING, logger="tradingbot_components.kraken.private_ws")
    feed.start()
    try:

        async def retried() -> bool:
            return calls >= 3

        await async_wait_until(retried, timeout=5, what="the token to be asked for again")
    finally:
        await feed.stop()
    assert (
        feed.last_error == "no WebSocket token: ServiceUnavailable: auth at http://127.0.0.1:1 is unreachable"
    )
    assert not feed.connected and not feed.synced
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
