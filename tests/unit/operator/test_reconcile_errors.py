"""An API server that is away (restarting kube-apiserver or etcd) is retried quietly; real bugs keep tracebacks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import kopf
import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from tradingbot_operator.planner.bot import Plan
from tradingbot_operator.reconciler import handlers
from tradingbot_operator.reconciler.context import OperatorContext
from tradingbot_operator.reconciler.errors import BotGone, unavailable


@pytest.mark.parametrize(
    "error",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connect call failed"),
        TimeoutError(),
        ApiException(status=503, reason="Service Unavailable"),
        ApiException(status=429, reason="Too Many Requests"),
    ],
)
def test_the_api_server_being_away_is_recognised(error: BaseException) -> None:
    assert unavailable(error)


@pytest.mark.parametrize(
    "error",
    [ApiException(status=422, reason="Invalid"), ApiException(status=403), KeyError("x"), ValueError()],
)
def test_other_errors_are_not_excused(error: BaseException) -> None:
    assert unavailable(error) is None


def _body() -> kopf.Body:
    raw = {
        "apiVersion": "tradingbot.dev/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"namespace": "ns", "name": "b"},
    }
    return kopf.Body(raw)


async def _loop_once_failing(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> list[int]:
    calls: list[int] = []

    async def reconcile(*_: Any, **__: Any) -> Plan:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return Plan(finished_teardown=True)

    monkeypatch.setattr(handlers, "reconcile", reconcile)
    ctx = OperatorContext(kube=None, image="img")  # type: ignore[arg-type]
    logger = logging.getLogger("tradingbot.test")
    await asyncio.wait_for(handlers._reconcile_loop(ctx, _body(), {}, {}, logger, deleting=True), timeout=10)
    return calls


async def test_an_unreachable_api_server_is_one_warning_line_then_a_retry(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tradingbot.test"):
        calls = await _loop_once_failing(monkeypatch, aiohttp.ServerDisconnectedError())
    assert len(calls) == 2
    [record] = [r for r in caplog.records if r.name == "tradingbot.test"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert (
        "API server unavailable (connection lost (ServerDisconnectedError)); retrying in 1s"
        in record.getMessage()
    )


async def test_a_bug_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tradingbot.test"):
        await _loop_once_failing(monkeypatch, KeyError("status"))
    [record] = [r for r in caplog.records if r.name == "tradingbot.test"]
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_a_bot_that_no_longer_exists_ends_its_loop_in_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """kopf may miss a deletion (a namespace it stopped watching); the daemon must not retry a 404 forever."""
    calls: list[int] = []

    async def reconcile(*_: Any, **__: Any) -> Plan:
        calls.append(1)
        raise BotGone("ns/b")

    monkeypatch.setattr(handlers, "reconcile", reconcile)
    ctx = OperatorContext(kube=None, image="img")  # type: ignore[arg-type]
    ctx.statuses[("ns", "b")] = {}
    logger = logging.getLogger("tradingbot.test")
    with caplog.at_level(logging.INFO, logger="tradingbot.test"):
        await asyncio.wait_for(
            handlers._reconcile_loop(ctx, _body(), {}, {}, logger, deleting=False), timeout=10
        )
    assert calls == [1]
    [record] = [r for r in caplog.records if r.name == "tradingbot.test"]
    assert record.getMessage() == "ns/b no longer exists; its reconcile loop ends" and record.exc_info is None
    assert ("ns", "b") not in ctx.statuses
