"""The storage tests run on both backends: `backend` is SQLite in the test's tmp dir, or a fresh database
on one PostgreSQL server started for the session (skipped with the reason where none can start; on CI,
where `CI` is set, that is a failure instead, so a missing database never passes as a skip)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.process import components
from tests.support.postgres import PostgresServer, start_postgres, unavailable_reason
from tradingbot_components.config.schema import StorageConfig
from tradingbot_components.storage.backends import open_repository
from tradingbot_components.storage.sql import SqlRepository

__all__ = ["backend", "components", "postgres_server", "repo"]


@dataclass(frozen=True)
class Backend:
    """Where a test's storage lives, as config (SQLite) and environment (the PostgreSQL DSN is a secret)."""

    name: str
    sqlite_path: Path
    dsn: str | None = None

    @property
    def config(self) -> StorageConfig:
        return StorageConfig(backend=self.name, sqlite_path=str(self.sqlite_path), dsn=self.dsn)

    def document(self) -> dict[str, Any]:
        """The config document's storage section (no DSN: it goes by environment)."""
        return {"storage": {"backend": self.name, "sqlite_path": str(self.sqlite_path)}}

    def env(self) -> dict[str, str]:
        return {"TRADINGBOT_STORAGE_DSN": self.dsn} if self.dsn else {}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"on CI the PostgreSQL storage tests must run, but {reason}")
        pytest.skip(reason)
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    sqlite_path = tmp_path / "data" / "storage.db"
    if request.param == "sqlite":
        return Backend("sqlite", sqlite_path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return Backend("postgres", sqlite_path, server.create_database())


@pytest.fixture
async def repo(backend: Backend) -> AsyncIterator[SqlRepository]:
    repository = open_repository(backend.config)
    await repository.open()
    try:
        yield repository
    finally:
        await repository.close()
