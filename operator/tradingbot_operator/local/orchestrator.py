"""Embedding a local bot in Python (the seed's `SystemOrchestrator`), on the same runner as `tradingbot run`:

    async with Orchestrator.from_file("config.json") as bot:      # every phase Ready, or StartupFailed
        balances = await (await bot.get_component(BalanceManagerClient)).balances()
        bot.config.get("trading.profit_target")
        bot.config.subscribe(lambda path, old, new: print(path, old, new))
        await bot.update_config("trading.profit_target", 0.007)   # hot: applied in place
        bot.get_status().health                                    # the TradingBot status, typed
        await bot.export_report("report.zip")                      # the --diagnostics ZIP
    # leaving the block stops the components in reverse phase order

The config view is a `ConfigManager` (the components' own class) fed with every document the runner gives
the components, so `get`, `subscribe` and precedence (environment over document over defaults) are theirs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tradingbot_components.clients import (
    BalanceManagerClient,
    GatewayClient,
    JsonService,
    PortfolioClient,
    StorageClient,
    TokenClient,
)
from tradingbot_components.config.manager import ConfigManager
from tradingbot_operator.api.status import TradingBotStatus
from tradingbot_operator.local.document import DocumentProblem, load
from tradingbot_operator.local.session import BotSession, startup_settled
from tradingbot_operator.local.statedir import StateDir

T = TypeVar("T", bound=JsonService)

CLIENTS: dict[type[JsonService], str] = {
    StorageClient: "storage",
    TokenClient: "auth",
    GatewayClient: "gateway",
    BalanceManagerClient: "balance-manager",
    PortfolioClient: "portfolio",
}


class StartupFailed(RuntimeError):
    """The bot did not come up; the message is the Ready condition's (which component, and why)."""


class Orchestrator:
    def __init__(
        self,
        path: Path | str,
        *,
        name: str | None = None,
        state_dir: Path | None = None,
        credentials: Path | None = None,
        startup_timeout: float = 300.0,
        watch_file: bool = True,
    ) -> None:
        """Raises `DocumentProblem` (file, line, field path) when the file cannot be run."""
        self.bot = load(Path(path), name=name, credentials=credentials)
        self.state = StateDir.of(self.bot.name, state_dir)
        self.startup_timeout = startup_timeout
        self._watch_file = watch_file
        self._session: BotSession | None = None
        self._clients: list[JsonService] = []
        self._applied = -1
        self.config = ConfigManager(component=None)

    @classmethod
    def from_file(cls, path: Path | str, **options: Any) -> Orchestrator:
        return cls(path, **options)

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        session = BotSession(self.bot, self.state, watch_file=self._watch_file)
        session.runner.listeners.append(self._follow_config)
        self._session = session
        try:
            await session.__aenter__()
        except BaseException:
            self._session = None
            raise
        if not await session.wait_started(self.startup_timeout):
            await self.stop()
            raise StartupFailed(f"{self.bot.name} did not start within {self.startup_timeout:g}s")
        status = session.runner.status
        if status.get("phase") == "Failed":
            ready: dict[str, Any] = next(
                (c for c in status.get("conditions", []) if c["type"] == "Ready"), {}
            )
            await self.stop()
            raise StartupFailed(f"{self.bot.name}: {ready.get('message') or 'startup failed'}")
        await self._sync_config()

    async def stop(self) -> None:
        for client in self._clients:
            await client.close()
        self._clients.clear()
        if self._session is not None:
            session, self._session = self._session, None
            await session.shutdown()

    async def __aenter__(self) -> Orchestrator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def session(self) -> BotSession:
        if self._session is None:
            raise RuntimeError("the bot is not running: use `async with Orchestrator.from_file(...)`")
        return self._session

    # -- components and config -----------------------------------------------------------------------

    async def get_component(self, client_type: type[T]) -> T:
        """A started client of the component serving `client_type` (closed when the bot stops)."""
        component = CLIENTS.get(client_type)
        if component is None:
            known = ", ".join(c.__name__ for c in CLIENTS)
            raise LookupError(f"no component serves {client_type.__name__}; known clients: {known}")
        runner = self.session.runner
        port, workload = runner.ports.get(component), runner.workloads.get(component)
        if port is None or workload is None or workload.replicas == 0:
            raise LookupError(f"{self.bot.name} has no component {component} running")
        client: T = client_type(f"http://127.0.0.1:{port}")
        await client.start()
        self._clients.append(client)
        return client

    def component_url(self, component: str) -> str:
        return f"http://127.0.0.1:{self.session.runner.ports[component]}"

    def _follow_config(self, runner: Any) -> None:
        if runner.config_generation != self._applied and self._session is not None:
            asyncio.get_running_loop().create_task(self._sync_config())

    async def _sync_config(self) -> None:
        runner = self.session.runner
        generation = runner.config_generation
        if generation == self._applied or not runner.document:
            return
        self._applied = generation
        await self.config.update(runner.document, generation, origin=f"bot {self.bot.name}")

    async def update_config(self, path: str, value: Any, *, wait: bool = True, timeout: float = 60.0) -> int:
        """Set one field on top of the file (hot fields apply in place, restart fields restart exactly their
        readers); with `wait`, return once every reporting component runs the new generation. A value the
        schema refuses raises `ConfigRejected` (a ValueError) with the field path, e.g.
        `trading.profit_target: Input should be greater than 0`, and nothing changes: the bot's document with
        the value set is validated by the components' own `ConfigManager.with_value` before it is planned."""
        runner = self.session.runner
        self.config.with_value(path, value)
        before, spec_generation = runner.config_generation, runner.generation
        runner.set_override(path, value)
        if runner.generation == spec_generation:
            return before  # the value was already in force
        generation_moved = await self.session.wait_for(
            lambda status: (status.get("config") or {}).get("generation", 0) > before, timeout
        )
        generation = runner.config_generation
        if wait and generation_moved:
            await self.session.wait_for(lambda status: _applied(status, generation), timeout)
        await self._sync_config()
        return generation

    def subscribe(
        self, callback: Callable[[str, Any, Any], Any], *, prefix: str | None = None
    ) -> Callable[[], None]:
        """`callback(path, old, new)` for every changed field of the running bot's config."""
        unsubscribe: Callable[[], None] = self.config.subscribe(callback, prefix=prefix)
        return unsubscribe

    # -- status and operations -------------------------------------------------------------------------

    def get_status(self) -> TradingBotStatus:
        return self.session.runner.typed_status()

    @property
    def healthy(self) -> bool:
        return str(self.get_status().health) == "Healthy"

    async def wait_healthy(self, timeout: float = 120.0) -> bool:
        return await self.session.wait_for(
            lambda s: s.get("health") == "Healthy" and startup_settled(s), timeout
        )

    def restart(self, component: str = "all") -> None:
        self.session.runner.request_restart(component)

    def suspend(self, suspended: bool = True) -> None:
        self.session.runner.suspend(suspended)

    async def export_report(self, path: Path | str) -> Path:
        """The `--diagnostics` ZIP of the running bot."""
        from tradingbot_operator.local.diagnostics import build
        from tradingbot_operator.plugin.diagnostics import write_zip

        runner = self.session.runner
        report = await asyncio.to_thread(build, runner.report, runner.state, runner.bot.credentials)
        target = Path(path)
        return write_zip(report, target, folder=target.name.removesuffix(".zip"))


def _applied(status: dict[str, Any], generation: int) -> bool:
    rows = [r for r in status.get("components", []) if r.get("configGeneration") is not None]
    return bool(rows) and all(r["configGeneration"] >= generation for r in rows)


__all__ = ["DocumentProblem", "Orchestrator", "StartupFailed"]
