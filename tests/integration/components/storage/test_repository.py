"""The repository on both backends (SQLite on a real file, a real PostgreSQL server): every call on the one
writer thread, the domain rules (idempotent ids, finished orders stay finished, nonce marks only rise),
SQLite's durable settings, and clear errors for unusable locations."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.components.storage.conftest import Backend
from tests.support.postgres import PostgresServer
from tradingbot_components.config.schema import StorageConfig
from tradingbot_components.storage import Conflict, Fill, NotFound, Order, OrderStatus, OrderType, Side
from tradingbot_components.storage.backends import open_repository, sqlite_repository
from tradingbot_components.storage.models import BalanceSnapshot
from tradingbot_components.storage.repository import StorageUnavailable
from tradingbot_components.storage.sql import SqlRepository


def limit_order(cid: str = "c-1", volume: str = "0.5") -> Order:
    return Order(cid, "XBT/USD", Side.BUY, OrderType.LIMIT, Decimal(volume), Decimal("64000"))


async def test_sqlite_is_opened_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    repo = sqlite_repository(tmp_path / "nested" / "storage.db")
    await repo.open()

    def pragmas(conn: sqlite3.Connection) -> tuple[str, int, int]:
        return (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
            conn.execute("PRAGMA busy_timeout").fetchone()[0],
        )

    try:
        assert await repo._run_with_conn(pragmas) == ("wal", 2, 5000)  # 2 = FULL
    finally:
        await repo.close()


async def test_the_repository_says_where_it_is_and_never_who(repo: SqlRepository, backend: Backend) -> None:
    described = repo.describe()
    assert (described["backend"], described["open"]) == (backend.name, True)
    if backend.dsn is None:
        assert described["location"] == str(backend.sqlite_path)
    else:  # host:port/dbname, without the user (or a password, were there one)
        dbname = backend.dsn.split("dbname=")[1].split()[0]
        assert described["location"].endswith(f":5432/{dbname}")
        assert "user" not in described["location"]


async def test_every_call_runs_on_the_single_writer_thread(repo: SqlRepository, backend: Backend) -> None:
    names = {await repo._run(lambda: threading.current_thread().name) for _ in range(5)}
    assert len(names) == 1 and names.pop().startswith(f"{backend.name}-writer")
    assert threading.current_thread() is threading.main_thread()


async def test_orders_are_idempotent_and_finished_orders_stay_finished(repo: SqlRepository) -> None:
    stored, created = await repo.add_order(limit_order())
    assert created and stored.status is OrderStatus.PENDING
    again, created = await repo.add_order(limit_order())
    assert not created and again == stored
    with pytest.raises(Conflict):
        await repo.add_order(limit_order(volume="2"))

    filled = await repo.update_order("c-1", OrderStatus.FILLED, "OX-1")
    assert (filled.status, filled.exchange_order_id) == (OrderStatus.FILLED, "OX-1")
    assert await repo.update_order("c-1", OrderStatus.FILLED) == await repo.get_order("c-1")
    with pytest.raises(Conflict, match="filled; it cannot become new"):
        await repo.update_order("c-1", OrderStatus.NEW)
    with pytest.raises(NotFound):
        await repo.update_order("c-404", OrderStatus.NEW)
    assert [o.client_order_id for o in await repo.list_orders(status=OrderStatus.FILLED)] == ["c-1"]
    assert await repo.list_orders(pair="ETH/USD") == []


async def test_fills_and_balances(repo: SqlRepository) -> None:
    fill = Fill(
        "T-1", "XBT/USD", Side.SELL, Decimal("64000.5"), Decimal("0.1"), Decimal("0.26"), "USD", "c-1"
    )
    assert (await repo.add_fill(fill))[1] is True
    assert (await repo.add_fill(fill))[1] is False
    with pytest.raises(Conflict):
        await repo.add_fill(Fill("T-1", "XBT/USD", Side.SELL, Decimal("1"), Decimal("0.1")))
    assert await repo.list_fills(client_order_id="c-1") == [fill]

    assert await repo.latest_balance_snapshot() is None
    first = await repo.add_balance_snapshot(BalanceSnapshot({"ZUSD": Decimal("10")}))
    second = await repo.add_balance_snapshot(BalanceSnapshot({"ZUSD": Decimal("11.5")}))
    assert first.snapshot_id is not None and second.snapshot_id == first.snapshot_id + 1
    assert await repo.latest_balance_snapshot() == second


async def test_nonce_marks_only_rise(repo: SqlRepository) -> None:
    assert (await repo.get_nonce("k")).high_water == 0
    assert (await repo.raise_nonce("k", 1_700_000_000_000)).high_water == 1_700_000_000_000
    assert (await repo.raise_nonce("k", 5)).high_water == 1_700_000_000_000
    assert (await repo.raise_nonce("k", 2**63 - 1)).high_water == 2**63 - 1
    assert (await repo.raise_nonce("other", 3)).high_water == 3


async def test_an_unusable_sqlite_location_fails_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    broken = sqlite_repository(blocker / "storage.db")  # a path under a regular file
    with pytest.raises(StorageUnavailable, match="cannot open sqlite storage"):
        await broken.open()
    with pytest.raises(StorageUnavailable, match="storage is not open"):
        await broken.get_nonce("k")


async def test_an_unusable_postgres_fails_clearly(postgres_server: PostgresServer, tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailable, match="needs a DSN"):
        open_repository(StorageConfig(backend="postgres"))
    missing = postgres_server.dsn(dbname="no_such_database")
    broken = open_repository(StorageConfig(backend="postgres", dsn=missing))
    with pytest.raises(
        StorageUnavailable,
        match=r'cannot open postgres storage at .*/no_such_database: .*"no_such_database" does not exist',
    ):
        await broken.open()
    nobody = f"host={tmp_path} port=5432 user=x dbname=y connect_timeout=2"  # no server on this socket
    with pytest.raises(StorageUnavailable, match=r"cannot open postgres storage at .*/y: .*No such file"):
        await open_repository(StorageConfig(backend="postgres", dsn=nobody)).open()
    with pytest.raises(StorageUnavailable, match="storage is not open"):
        await broken.get_nonce("k")
