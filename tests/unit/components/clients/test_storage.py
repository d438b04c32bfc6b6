"""The storage client against storage's real HTTP API on 127.0.0.1 (SQLite in a temp dir): fills are
idempotent by id, paged back oldest first without gaps or repeats, amounts exact, and failures come back as
`ServiceRejected` (4xx, do not retry) or `ServiceUnavailable` (retry later)."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest
from aiohttp import web

from tradingbot_components.clients.base import ServiceRejected, ServiceUnavailable
from tradingbot_components.clients.storage import StorageClient
from tradingbot_components.storage.api import StorageApi, storage_errors
from tradingbot_components.storage.backends import sqlite_repository
from tradingbot_components.storage.models import Fill, Side
from tradingbot_components.storage.sql import SqlRepository

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def fill(fill_id: str, second: int = 0, **changes: object) -> Fill:
    base = Fill(
        fill_id=fill_id,
        pair="BTC/USD",
        side=Side.BUY,
        price=D("50000.10"),
        volume=D("0.01000000"),
        fee=D("1.3000"),
        fee_currency="USD",
        client_order_id="entry-1",
        exchange_order_id="OQCLML-BW3P3-BUCMWZ",
        executed_at=T0 + dt.timedelta(seconds=second),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def serving(repository: SqlRepository | None) -> AsyncIterator[StorageClient]:
    """Storage's `/v1/` API over `repository` (None: the database is not open) and a client of it."""
    app = web.Application(middlewares=[storage_errors])
    StorageApi(lambda: repository).add_to(app)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = StorageClient(f"http://127.0.0.1:{port}")
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[StorageClient]:
    repository = sqlite_repository(tmp_path / "storage.db")
    await repository.open()
    try:
        async with serving(repository) as client:
            yield client
    finally:
        await repository.close()


async def test_a_fill_is_stored_once_and_a_replay_says_so(storage: StorageClient) -> None:
    stored, created = await storage.add_fill(fill("T1"))
    assert created is True and stored == fill("T1")
    again, created = await storage.add_fill(fill("T1"))
    assert created is False and again == stored
    assert str(again.price) == "50000.10" and str(again.volume) == "0.01000000"  # exact, as sent


async def test_a_different_fill_under_a_known_id_is_refused(storage: StorageClient) -> None:
    await storage.add_fill(fill("T1"))
    with pytest.raises(ServiceRejected) as refused:
        await storage.add_fill(fill("T1", volume=D("0.02")))
    assert refused.value.status == 409


async def test_an_invalid_fill_is_refused_with_the_field(storage: StorageClient) -> None:
    with pytest.raises(ServiceRejected) as refused:
        await storage.add_fill(fill("T1", volume=D("0")))
    assert refused.value.status == 400 and "volume" in str(refused.value.body)


async def test_all_fills_pages_through_everything_oldest_first(storage: StorageClient) -> None:
    seconds = [4, 0, 3, 1, 2]  # stored out of time order
    for second in seconds:
        await storage.add_fill(fill(f"T{second}", second))
    for page in (1, 2, 5, 1000):  # page boundaries inside, at and beyond the end
        fills = await storage.all_fills(page=page)
        assert [f.fill_id for f in fills] == ["T0", "T1", "T2", "T3", "T4"], page
    assert [f.fill_id for f in await storage.list_fills(limit=2, offset=3)] == ["T3", "T4"]


async def test_fills_of_one_order(storage: StorageClient) -> None:
    await storage.add_fill(fill("T1"))
    await storage.add_fill(fill("T2", 1, client_order_id="exit-1"))
    assert [f.fill_id for f in await storage.list_fills(client_order_id="exit-1")] == ["T2"]


async def test_no_fills_is_an_empty_list(storage: StorageClient) -> None:
    assert await storage.all_fills() == []


async def test_unreachable_storage_is_unavailable_before_sending() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = StorageClient(f"http://127.0.0.1:{port}", timeout=2)
    try:
        with pytest.raises(ServiceUnavailable) as unavailable:
            await client.add_fill(fill("T1"))
        assert unavailable.value.before_sending is True
        assert (await client.ready())[0] is False
    finally:
        await client.close()


async def test_storage_not_open_is_unavailable() -> None:
    async with serving(None) as client:
        with pytest.raises(ServiceUnavailable, match="503"):
            await client.all_fills()
