"""The operator's API client against a real HTTP server on 127.0.0.1: a request the server never answers fails
after the timeout instead of holding its connection forever, and no more than `max_in_flight` requests are
ever outstanding, however many bots reconcile at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from kubernetes_asyncio import client

from tradingbot_operator.reconciler.errors import BotGone, unavailable
from tradingbot_operator.reconciler.kube import Kube


class Server:
    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.answered = 0

    async def apply(self, request: web.Request) -> web.Response:
        if request.match_info["name"] == "hangs":
            await asyncio.sleep(3600)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.02)
        finally:
            self.in_flight -= 1
        self.answered += 1
        return web.json_response({"kind": "Service", "metadata": {"name": request.match_info["name"]}})


async def _not_found(_: web.Request) -> web.Response:
    return web.json_response({"kind": "Status", "reason": "NotFound", "code": 404}, status=404)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Server, str]]:
    server = Server()
    app = web.Application()
    app.router.add_patch("/api/v1/namespaces/{namespace}/services/{name}", server.apply)
    app.router.add_patch(
        "/apis/tradingbot.dev/v1alpha1/namespaces/{namespace}/tradingbots/{name}/status",
        _not_found,
    )
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _kube(url: str, **options: float) -> Kube:
    configuration = client.Configuration(host=url)
    return Kube(client.ApiClient(configuration), **options)  # type: ignore[arg-type]


def _service(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "bots"}}


async def test_a_request_never_answered_fails_after_the_timeout(served: tuple[Server, str]) -> None:
    _, url = served
    kube = _kube(url, timeout=0.5)
    try:
        call = asyncio.ensure_future(kube.apply(_service("hangs")))
        done, _ = await asyncio.wait({call}, timeout=10)
        assert done, "the request is still waiting for an answer"
        with pytest.raises(TimeoutError) as raised:
            call.result()
        assert unavailable(raised.value) is not None  # the reconcile loop retries it with backoff
        assert (await kube.apply(_service("after")))["metadata"]["name"] == "after"
    finally:
        await kube.close()


async def test_no_more_than_max_in_flight_requests_are_outstanding(served: tuple[Server, str]) -> None:
    server, url = served
    kube = _kube(url, max_in_flight=4)
    try:
        await asyncio.gather(*(kube.apply(_service(f"s{i}")) for i in range(60)))
    finally:
        await kube.close()
    assert server.answered == 60
    assert server.most_in_flight == 4


async def test_a_status_patch_that_finds_no_bot_says_the_bot_is_gone(served: tuple[Server, str]) -> None:
    _, url = served
    kube = _kube(url)
    try:
        with pytest.raises(BotGone, match="bots/b0"):
            await kube.patch_status("bots", "b0", {"phase": "Running"})
    finally:
        await kube.close()
