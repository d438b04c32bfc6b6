"""The storage repository on a DB-API connection (sqlite3 or psycopg), driven from one dedicated thread.

Every database call runs on a single worker thread, so the event loop never blocks and writes are
serialised: the nonce "only ever raises" upsert is atomic without further locking. A `Dialect` covers
the few differences between SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import typing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from tradingbot_components.storage.models import (
    BalanceSnapshot,
    Fill,
    NonceMark,
    Order,
    OrderStatus,
    plain,
    utc_now,
)
from tradingbot_components.storage.repository import Conflict, NotFound, StorageUnavailable

T = TypeVar("T")
R = TypeVar("R")
Connection = Any  # a DB-API 2 connection (sqlite3.Connection or psycopg.Connection)


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str  # "?" (sqlite3) or "%s" (psycopg)
    greatest: str  # two-argument maximum: MAX (SQLite) or GREATEST (PostgreSQL)
    serial_key: str  # an auto-numbered primary key column type

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


ORDER_FIELDS = (
    "client_order_id", "pair", "side", "type", "price", "volume", "status", "exchange_order_id", "created_at",
    "updated_at",
)  # fmt: skip
FILL_FIELDS = (
    "fill_id", "pair", "side", "price", "volume", "fee", "fee_currency", "client_order_id", "exchange_order_id",
    "executed_at",
)  # fmt: skip
ORDER_COLUMNS, FILL_COLUMNS = ", ".join(ORDER_FIELDS), ", ".join(FILL_FIELDS)


def schema(dialect: Dialect) -> list[str]:
    return [
        """CREATE TABLE IF NOT EXISTS orders (
            client_order_id TEXT PRIMARY KEY, pair TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL,
            price TEXT, volume TEXT NOT NULL, status TEXT NOT NULL, exchange_order_id TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, pair)",
        """CREATE TABLE IF NOT EXISTS fills (
            fill_id TEXT PRIMARY KEY, pair TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
            volume TEXT NOT NULL, fee TEXT NOT NULL, fee_currency TEXT, client_order_id TEXT,
            exchange_order_id TEXT, executed_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS fills_by_order ON fills (client_order_id)",
        f"""CREATE TABLE IF NOT EXISTS balance_snapshots (
            snapshot_id {dialect.serial_key}, taken_at TEXT NOT NULL, balances TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS nonce_marks (
            key_id TEXT PRIMARY KEY, high_water BIGINT NOT NULL, updated_at TEXT NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)",
    ]


class SqlRepository:
    """`StorageRepository` over `connect()`, which is called on the worker thread."""

    def __init__(self, dialect: Dialect, connect: Callable[[], Connection], *, where: str) -> None:
        self.dialect = dialect
        self.where = where
        self._connect = connect
        self._executor: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.dialect.name, "location": self.where, "open": self._conn is not None}

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.dialect.name}-writer")
        try:
            self._conn = await self._run(lambda: self._connect())
            await self._run(self._create_schema)
        except Exception as exc:
            await self.close()
            if isinstance(exc, StorageUnavailable):
                raise
            raise StorageUnavailable(
                f"cannot open {self.dialect.name} storage at {self.where}: {exc}"
            ) from exc

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=False)

    async def check_writable(self) -> None:
        await self._write(
            "INSERT INTO write_probe (id, checked_at) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
            (utc_now().isoformat(),),
        )

    # -- orders ------------------------------------------------------------------------------------

    async def add_order(self, order: Order) -> tuple[Order, bool]:
        stored, created = await self._insert_once(order, "orders", ORDER_FIELDS)
        if not created and not stored.same_request(order):
            raise Conflict(f"client order id {order.client_order_id!r} is already used by a different order")
        return stored, created

    async def get_order(self, client_order_id: str) -> Order | None:
        def work(conn: Connection) -> Order | None:
            with self._transaction(conn) as cur:
                return self._one_order(cur, client_order_id)

        return await self._run_with_conn(work)

    async def list_orders(
        self, *, status: OrderStatus | None = None, pair: str | None = None, limit: int = 100
    ) -> list[Order]:
        where, params = _filters(status=status and str(status), pair=pair)
        rows = await self._read(
            f"SELECT {ORDER_COLUMNS} FROM orders{where} ORDER BY created_at, client_order_id LIMIT ?",
            (*params, limit),
        )
        return [from_row(Order, ORDER_FIELDS, row) for row in rows]

    async def update_order(
        self, client_order_id: str, status: OrderStatus, exchange_order_id: str | None = None
    ) -> Order:
        def work(conn: Connection) -> Order:
            with self._transaction(conn) as cur:
                current = self._one_order(cur, client_order_id)
                if current is None:
                    raise NotFound(f"no order with client order id {client_order_id!r}")
                if current.status.final and status is not current.status:
                    raise Conflict(
                        f"order {client_order_id!r} is {current.status}; it cannot become {status}"
                    )
                cur.execute(
                    self.dialect.sql(
                        "UPDATE orders SET status = ?, exchange_order_id = COALESCE(?, exchange_order_id), "
                        "updated_at = ? WHERE client_order_id = ?"
                    ),
                    (str(status), exchange_order_id, utc_now().isoformat(), client_order_id),
                )
                updated = self._one_order(cur, client_order_id)
            assert updated is not None
            return updated

        return await self._run_with_conn(work)

    # -- fills and balances ------------------------------------------------------------------------

    async def add_fill(self, fill: Fill) -> tuple[Fill, bool]:
        stored, created = await self._insert_once(fill, "fills", FILL_FIELDS)
        if not created and not stored.same_execution(fill):
            raise Conflict(f"fill {fill.fill_id!r} is already stored with different values")
        return stored, created

    async def list_fills(
        self, *, client_order_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Fill]:
        where, params = _filters(client_order_id=client_order_id)
        rows = await self._read(
            f"SELECT {FILL_COLUMNS} FROM fills{where} ORDER BY executed_at, fill_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [from_row(Fill, FILL_FIELDS, row) for row in rows]

    async def add_balance_snapshot(self, snapshot: BalanceSnapshot) -> BalanceSnapshot:
        balances = json.dumps({asset: str(amount) for asset, amount in snapshot.balances.items()})
        rows = await self._write(
            "INSERT INTO balance_snapshots (taken_at, balances) VALUES (?, ?) RETURNING snapshot_id",
            (snapshot.taken_at.isoformat(), balances),
        )
        return BalanceSnapshot(dict(snapshot.balances), snapshot.taken_at, int(rows[0][0]))

    async def latest_balance_snapshot(self) -> BalanceSnapshot | None:
        rows = await self._read(
            "SELECT snapshot_id, taken_at, balances FROM balance_snapshots "
            "ORDER BY taken_at DESC, snapshot_id DESC LIMIT 1",
            (),
        )
        if not rows:
            return None
        snapshot_id, taken_at, balances = rows[0]
        amounts = {asset: Decimal(amount) for asset, amount in json.loads(balances).items()}
        return BalanceSnapshot(amounts, datetime.fromisoformat(taken_at), int(snapshot_id))

    # -- nonces ------------------------------------------------------------------------------------

    async def get_nonce(self, key_id: str) -> NonceMark:
        rows = await self._read("SELECT high_water, updated_at FROM nonce_marks WHERE key_id = ?", (key_id,))
        if not rows:
            return NonceMark(key_id, 0)
        return NonceMark(key_id, int(rows[0][0]), datetime.fromisoformat(rows[0][1]))

    async def raise_nonce(self, key_id: str, high_water: int) -> NonceMark:
        greatest = self.dialect.greatest
        rows = await self._write(
            "INSERT INTO nonce_marks (key_id, high_water, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (key_id) DO UPDATE SET high_water = {greatest}(nonce_marks.high_water, "
            "excluded.high_water), updated_at = CASE WHEN excluded.high_water > nonce_marks.high_water "
            "THEN excluded.updated_at ELSE nonce_marks.updated_at END "
            "RETURNING high_water, updated_at",
            (key_id, high_water, utc_now().isoformat()),
        )
        return NonceMark(key_id, int(rows[0][0]), datetime.fromisoformat(rows[0][1]))

    # -- plumbing ----------------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._transaction(self._conn) as cur:
            for statement in schema(self.dialect):
                cur.execute(statement)

    @contextlib.contextmanager
    def _cursor(self, conn: Connection) -> Iterator[Any]:
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextlib.contextmanager
    def _transaction(self, conn: Connection) -> Iterator[Any]:
        """Commit (durably: the connection is opened for it) on success, roll back on any error."""
        with self._cursor(conn) as cur:
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    async def _insert_once(self, record: R, table: str, fields: Sequence[str]) -> tuple[R, bool]:
        """Insert unless the key (the first field) exists; return the stored record and whether it is new."""
        key, columns = fields[0], ", ".join(fields)

        def work(conn: Connection) -> tuple[R, bool]:
            with self._transaction(conn) as cur:
                cur.execute(
                    self.dialect.sql(
                        f"INSERT INTO {table} ({columns}) VALUES ({_places(fields)}) ON CONFLICT ({key}) DO NOTHING"
                    ),
                    to_row(record, fields),
                )
                created = cur.rowcount == 1
                cur.execute(
                    self.dialect.sql(f"SELECT {columns} FROM {table} WHERE {key} = ?"),
                    (getattr(record, key),),
                )
                return from_row(type(record), fields, cur.fetchone()), created

        return await self._run_with_conn(work)

    def _one_order(self, cur: Any, client_order_id: str) -> Order | None:
        cur.execute(
            self.dialect.sql(f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id = ?"),
            (client_order_id,),
        )
        row = cur.fetchone()
        return None if row is None else from_row(Order, ORDER_FIELDS, row)

    async def _read(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        def work(conn: Connection) -> list[tuple[Any, ...]]:
            # A transaction for reads too: psycopg would otherwise leave one open ("idle in transaction").
            with self._transaction(conn) as cur:
                cur.execute(self.dialect.sql(sql), tuple(params))
                return [tuple(row) for row in cur.fetchall()]

        return await self._run_with_conn(work)

    async def _write(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        def work(conn: Connection) -> list[tuple[Any, ...]]:
            with self._transaction(conn) as cur:
                cur.execute(self.dialect.sql(sql), tuple(params))
                return [tuple(row) for row in cur.fetchall()] if cur.description else []

        return await self._run_with_conn(work)

    async def _run_with_conn(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None:
            raise StorageUnavailable("storage is not open")
        return await self._run(partial(work, self._conn))

    async def _run(self, work: Callable[[], T]) -> T:
        if self._executor is None:
            raise StorageUnavailable("storage is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)


def _filters(**columns: str | None) -> tuple[str, tuple[Any, ...]]:
    used = {name: value for name, value in columns.items() if value is not None}
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{name} = ?" for name in used), tuple(used.values())


def _places(columns: Sequence[str]) -> str:
    return ", ".join("?" * len(columns))


def to_row(record: Any, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(plain(getattr(record, column)) for column in columns)


def from_row(kind: type[R], columns: Sequence[str], row: Sequence[Any]) -> R:
    """Rebuild a record from text columns, converting each by the record's field types."""
    hints = typing.get_type_hints(kind)
    return kind(
        **{column: _from_text(hints[column], value) for column, value in zip(columns, row, strict=True)}
    )


def _from_text(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    options = [arg for arg in typing.get_args(hint) if arg is not type(None)] or [hint]
    target = options[0]
    if target is Decimal:
        return Decimal(value)
    if target is datetime:
        return datetime.fromisoformat(value)
    if isinstance(target, type) and issubclass(target, enum.Enum):
        return target(value)
    return value
