"""Kraken REST over a real socket: envelopes, Cloudflare pages, timeouts and refused connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tradingbot_components.kraken.transport import KrakenTransport, TransportFailure, parse_reply


def test_parse_reply() -> None:
    ok = parse_reply("Time", 200, '{"error":[],"result":{"unixtime":1}}')
    assert ok.answered and ok.errors == () and ok.failure is None
    rejected = parse_reply("AddOrder", 200, '{"error":["EOrder:Insufficient funds"]}')
    assert rejected.errors == ("EOrder:Insufficient funds",)
    cloudflare = parse_reply("Balance", 520, "error code: 520")
    assert cloudflare.failure is TransportFailure.HTTP and cloudflare.detail == "HTTP 520: error code: 520"
    assert not cloudflare.no_answer  # an HTTP answer, judged by its status
    garbage = parse_reply("Balance", 200, "<html>oops</html>")
    assert garbage.failure is TransportFailure.BAD_BODY and garbage.no_answer


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[KrakenTransport, list[web.Request]]]:
    seen: list[web.Request] = []

    async def public(request: web.Request) -> web.Response:
        seen.append(request)
        if request.match_info["method"] == "Slow":
            await asyncio.sleep(5)
        return web.json_response({"error": [], "result": {"path": request.raw_path}})

    async def private(request: web.Request) -> web.Response:
        seen.append(request)
        body = await request.text()
        return web.Response(status=520, text=f"error code: 520 for {request.headers['API-Key']} {body}")

    app = web.Application()
    app.router.add_get("/0/public/{method}", public)
    app.router.add_post("/0/private/{method}", private)
    server = TestServer(app)
    await server.start_server()
    transport = KrakenTransport(str(server.make_url("")), timeout=0.3)
    await transport.start()
    try:
        yield transport, seen
    finally:
        await transport.close()
        await server.close()


async def test_public_query_is_sent_verbatim_with_a_user_agent(
    exchange: tuple[KrakenTransport, list[web.Request]],
) -> None:
    transport, seen = exchange
    reply = await transport.public("Ticker", "pair=XBTUSD%2CETHUSD")
    assert reply.envelope == {"error": [], "result": {"path": "/0/public/Ticker?pair=XBTUSD%2CETHUSD"}}
    assert seen[0].headers["User-Agent"].startswith("tradingbot-gateway")


async def test_private_posts_the_signed_body_and_reports_a_520(
    exchange: tuple[KrakenTransport, list[web.Request]],
) -> None:
    transport, _ = exchange
    reply = await transport.private("Balance", "nonce=1", {"API-Key": "k", "API-Sign": "s"})
    assert reply.http_status == 520 and reply.failure is TransportFailure.HTTP
    assert "for k nonce=1" in reply.detail


async def test_a_slow_exchange_is_a_timeout(exchange: tuple[KrakenTransport, list[web.Request]]) -> None:
    transport, _ = exchange
    reply = await transport.public("Slow")
    assert reply.failure is TransportFailure.TIMEOUT and "0.3s" in reply.detail


async def test_a_closed_port_is_not_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = KrakenTransport(f"http://127.0.0.1:{port}")
    await transport.start()
    try:
        reply = await transport.public("Time")
    finally:
        await transport.close()
    assert reply.failure is TransportFailure.CONNECT
