"""Each fault mode against the real process: what a client sees, how it is scoped, and how it clears."""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
import pytest

from tests.integration.components.exchange_sim.wsclient import channel, next_frame
from tests.support.sim import SimHandle, http
from tests.support.waiting import wait_until
from tradingbot_components.kraken.book import ChecksumMismatch, OrderBook, parse_book_frame

Factory = Callable[..., SimHandle]


def test_unavailable_until_cleared_and_scoped(sim_factory: Factory) -> None:
    sim = sim_factory()
    shown = sim.fault("unavailable")
    assert shown["active"]["mode"] == "unavailable"
    assert sim.control("faults")["active"] == {"mode": "unavailable", "scope": "all"}
    assert sim.public("Time") == {"error": ["EService:Unavailable"]}
    assert sim.private("Balance") == {"error": ["EService:Unavailable"]}
    sim.fault("unavailable", scope="private")
    assert sim.public("Time")["error"] == []
    assert sim.private("Balance") == {"error": ["EService:Unavailable"]}
    assert sim.clear_faults()["active"] is None
    assert sim.private("Balance")["error"] == []


@pytest.mark.parametrize("status", [502, 520])
def test_http_errors_are_bare_and_expire_after_count(sim_factory: Factory, status: int) -> None:
    sim = sim_factory()
    sim.fault("http_error", status=status, count=2)
    for _ in range(2):
        reply = http(f"{sim.url_rest}/0/public/Time")
        assert reply.status == status and reply.text == f"error code: {status}"
    assert sim.public("Time")["error"] == []
    assert sim.control("faults")["active"] is None


def test_latency_delays_answers(sim_factory: Factory) -> None:
    sim = sim_factory()
    sim.fault("latency", seconds=0.6, count=1)
    started = time.monotonic()
    assert sim.private("Balance")["error"] == []
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    sim.public("Time")
    assert time.monotonic() - started < 0.6


def test_lockout_refuses_private_calls_for_its_seconds(sim_factory: Factory) -> None:
    sim = sim_factory()
    sim.fault("lockout", seconds=1.5)
    assert sim.private("Balance") == {"error": ["EGeneral:Temporary lockout"]}
    assert sim.public("Time")["error"] == []  # a key lockout, public calls still work
    wait_until(
        lambda: sim.private("Balance")["error"] == [], timeout=10, interval=0.2, what="the lockout to end"
    )


def test_throttled_and_arbitrary_errors(sim_factory: Factory) -> None:
    sim = sim_factory()
    sim.fault("throttled", seconds=5, count=1)
    (error,) = sim.private("Balance")["error"]
    assert error.startswith("EService:Throttled: ") and int(error.split(": ")[1]) >= int(time.time()) + 3
    sim.fault("error", error="EGeneral:Internal error", scope="private", count=1)
    assert sim.private("Balance") == {"error": ["EGeneral:Internal error"]}
    assert sim.private("Balance")["error"] == []


def test_a_bad_fault_document_is_refused_with_the_field(sim_factory: Factory) -> None:
    sim = sim_factory()
    reply = http(
        f"{sim.url_rest}/_sim/faults",
        method="POST",
        body='{"mode": "http_error", "status": 200}',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 400 and reply.json["error"].startswith("status:")


async def test_drop_ws_cuts_connections_abruptly(sim_factory: Factory) -> None:
    sim = sim_factory()
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await next_frame(ws, channel("status"))
        assert sim.fault("drop_ws")["dropped"] == 1
        message = await ws.receive(timeout=10)
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)
    assert sim.stats()["ws"]["dropped"] == 1
    # New connections are accepted again at once.
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await next_frame(ws, channel("status"))


async def test_corrupted_checksums_are_detected_by_the_client(sim_factory: Factory) -> None:
    sim = sim_factory(tick_seconds=0.05)
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.url_ws) as ws:
        await ws.send_json({"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}})
        book = OrderBook("BTC/USD", 10)
        for message in parse_book_frame(await next_frame(ws, channel("book", "snapshot"))):
            book.apply_checked(message)
        for message in parse_book_frame(await next_frame(ws, channel("book", "update"))):
            book.apply_checked(message)
        sim.fault("corrupt_checksum", count=1)
        with pytest.raises(ChecksumMismatch):
            while True:
                for message in parse_book_frame(await next_frame(ws, channel("book", "update"))):
                    book.apply_checked(message)
        # Resubscribing gives a fresh snapshot that verifies again.
        params = {"channel": "book", "symbol": ["BTC/USD"], "depth": 10}
        await ws.send_json({"method": "unsubscribe", "params": params})
        await ws.send_json({"method": "subscribe", "params": params})
        fresh = OrderBook("BTC/USD", 10)
        for message in parse_book_frame(await next_frame(ws, channel("book", "snapshot"))):
            fresh.apply_checked(message)
    assert sim.control("faults")["corrupt_checksum_remaining"] == 0
