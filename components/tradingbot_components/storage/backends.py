"""Choosing and opening the storage backend: SQLite on a volume by default, PostgreSQL by DSN.

SQLite runs in WAL mode with `synchronous=FULL`, so a write acknowledged over HTTP survives a crash or a
power cut; psycopg is imported only when PostgreSQL is asked for (it is an optional extra).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tradingbot_components.config.schema import StorageConfig
from tradingbot_components.storage.repository import StorageUnavailable
from tradingbot_components.storage.sql import Dialect, SqlRepository

SQLITE = Dialect("sqlite", "?", "MAX", "INTEGER PRIMARY KEY AUTOINCREMENT")
POSTGRES = Dialect("postgres", "%s", "GREATEST", "BIGSERIAL PRIMARY KEY")
BUSY_TIMEOUT_MS = 5000
POSTGRES_HINT = "pip install 'tradingbot-operator[postgres]'"


def open_repository(config: StorageConfig) -> SqlRepository:
    """The repository `config` asks for (not yet opened: call `await repo.open()`)."""
    if config.backend == "postgres":
        if not config.dsn:
            raise StorageUnavailable("storage.backend=postgres needs a DSN: set TRADINGBOT_STORAGE_DSN")
        return postgres_repository(config.dsn)
    return sqlite_repository(Path(config.sqlite_path))


def sqlite_repository(path: Path) -> SqlRepository:
    def connect() -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a write transaction takes the write lock at BEGIN, so it never fails half-way.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level="IMMEDIATE")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.close()
            raise StorageUnavailable(f"{path}: the filesystem does not support SQLite WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn

    return SqlRepository(SQLITE, connect, where=str(path))


def postgres_repository(dsn: str) -> SqlRepository:
    try:
        import psycopg
    except ImportError:
        raise StorageUnavailable(
            f"storage.backend=postgres needs the psycopg driver, which is not installed: {POSTGRES_HINT}"
        ) from None

    def connect() -> Any:
        return psycopg.connect(dsn, autocommit=False)

    return SqlRepository(POSTGRES, connect, where=_describe_dsn(dsn))


def _describe_dsn(dsn: str) -> str:
    """host:port/dbname, never the user or password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:
        return "postgres (DSN unparsable)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
