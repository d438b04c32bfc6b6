"""The storage component: opens the database in the Infrastructure phase, serves `/v1/` and reports
itself ready only while the database is open and writable."""

from __future__ import annotations

import logging
from typing import Any

from tradingbot_components.app import ComponentApp
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.storage.api import StorageApi, storage_errors
from tradingbot_components.storage.backends import open_repository
from tradingbot_components.storage.repository import StorageRepository
from tradingbot_components.storage.sql import SqlRepository

log = logging.getLogger(__name__)


class StorageService:
    """Owns the repository for the life of the process (backend and path are restart fields)."""

    def __init__(self, app: ComponentApp) -> None:
        self._app = app
        self.repository: SqlRepository | None = None

    async def open(self) -> None:
        repository = open_repository(self._app.config.config.storage)
        await repository.open()
        await repository.check_writable()
        self.repository = repository
        self._app.container.register_instance(StorageRepository, repository)
        log.info("storage open", extra=repository.describe())

    async def close(self) -> None:
        repository, self.repository = self.repository, None
        if repository is not None:
            await repository.close()
            log.info("storage closed", extra=repository.describe())

    async def check(self) -> CheckResult:
        if self.repository is None:
            return CheckResult(HealthStatus.UNHEALTHY, "database is not open")
        try:
            await self.repository.check_writable()
        except Exception as exc:
            return CheckResult(HealthStatus.UNHEALTHY, f"database is not writable: {describe_error(exc)}")
        return CheckResult(HealthStatus.HEALTHY, details=self.repository.describe())

    def status(self) -> dict[str, Any]:
        if self.repository is None:
            return {"open": False, "backend": self._app.config.config.storage.backend}
        return self.repository.describe()


def build(app: ComponentApp) -> None:
    service = StorageService(app)
    app.container.register_instance(StorageService, service)
    app.http.app.middlewares.append(storage_errors)
    StorageApi(lambda: service.repository).add_to(app.http.app)
    app.sequence.register_step(
        "database", Phase.INFRASTRUCTURE, service.open, retries=2, timeout=30, shutdown=service.close
    )
    app.monitor.register_check("database", service.check, critical=True, timeout=10)
    app.add_status("storage", service.status)
