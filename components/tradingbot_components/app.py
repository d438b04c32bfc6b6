"""One component process: the shared wiring (config, HTTP probes, health, startup) and the registry of
components that plug their own steps, checks and routes into it.

A component is a factory `build(app)` registered by name; it adds steps to `app.sequence`, checks to
`app.monitor`, routes to `app.http.app` and services to `app.container`. `ComponentApp.run()` starts it
all in phase order and stops it in reverse on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from tradingbot_components.config.feed import ConfigFeed
from tradingbot_components.config.kube import PodReporter
from tradingbot_components.config.logs import effective_level, set_level
from tradingbot_components.config.manager import ConfigManager
from tradingbot_components.http import DebugRoutes, HttpServer, Lifecycle, LoopHeartbeat, ProbeRoutes
from tradingbot_components.runtime import (
    Container,
    HealthMonitor,
    Phase,
    ShutdownReport,
    StartupFailed,
    StartupSequence,
    run_until_signal,
)
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ComponentFactory = Callable[["ComponentApp"], None]

# name -> "module:function"; imported only for the component that runs.
COMPONENTS: dict[str, str] = {
    "storage": "tradingbot_components.storage.component:build",
    "exchange-sim": "tradingbot_components.exchange_sim.component:build",
    "market-data": "tradingbot_components.market_data.component:build",
    "auth": "tradingbot_components.auth.component:build",
    "gateway": "tradingbot_components.gateway.component:build",
    "balance-manager": "tradingbot_components.balance_manager.component:build",
    "portfolio": "tradingbot_components.portfolio.component:build",
    "trader": "tradingbot_components.trader.component:build",
}
DEFAULT_PORT = 8080
READINESS_REPORT_INTERVAL = 2.0  # how often readiness is looked at for the Pod annotation (writes on change)


class UnknownComponent(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown component {name!r}; known components: {', '.join(known_components())}")


def known_components() -> tuple[str, ...]:
    return tuple(sorted(COMPONENTS))


def load_factory(name: str) -> ComponentFactory:
    target = COMPONENTS.get(name)
    if target is None:
        raise UnknownComponent(name)
    module, _, function = target.partition(":")
    factory: ComponentFactory = getattr(importlib.import_module(module), function)
    return factory


@dataclass(frozen=True)
class Options:
    """The command line of a component process."""

    component: str
    config_file: Path | None = None
    configmap: tuple[str, str] | None = None  # (namespace, name)
    credentials: Path | None = None
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    grace_period: float = 25.0  # inside Kubernetes' default 30 s termination grace
    extra: tuple[str, ...] = ()  # the component's own arguments (e.g. the trader's --strategy)


class ComponentArgumentsError(ValueError):
    """A component's own command-line arguments are wrong; the message says which and why."""


class ComponentApp:
    """The shared objects of one process; components add to them in their factory."""

    def __init__(self, options: Options, *, environ: Mapping[str, str] | None = None) -> None:
        """Raises `ConfigRejected` when the environment overrides are invalid."""
        self.options = options
        self.name = options.component
        self.environ: Mapping[str, str] = dict(os.environ if environ is None else environ)
        self.registry = CollectorRegistry()
        self.container = Container()
        self.sequence = StartupSequence()
        self.config = ConfigManager(environ=self.environ, component=self.name, registry=self.registry)
        self.monitor = HealthMonitor(
            registry=self.registry, interval=float(self.config.config.system.health_check_interval)
        )
        self.heartbeat = LoopHeartbeat()
        self.http = HttpServer(options.host, options.port)
        self.feed = ConfigFeed(self.config, file=options.config_file, configmap=options.configmap)
        self.reporter = PodReporter.from_environment(self.environ)
        self.lifecycle = Lifecycle.STARTING
        self.extra_args_consumed = False  # a component that reads `options.extra` sets this
        self._status: dict[str, Callable[[], Any]] = {}
        self._monitor_task: asyncio.Task[None] | None = None
        self._readiness_task: asyncio.Task[None] | None = None
        self.probes = ProbeRoutes(
            component=self.name,
            config=self.config,
            monitor=self.monitor,
            sequence=self.sequence,
            registry=self.registry,
            heartbeat=self.heartbeat,
            lifecycle=lambda: self.lifecycle,
            extra_status=self._extra_status,
        )
        self.probes.add_to(self.http.app)
        DebugRoutes(self.probes, self.container).add_to(self.http.app)
        for iface, instance in (
            (ComponentApp, self),
            (ConfigManager, self.config),
            (HealthMonitor, self.monitor),
            (CollectorRegistry, self.registry),
            (StartupSequence, self.sequence),
            (Options, options),
        ):
            self.container.register_instance(iface, instance)
        self._register_core_steps()

    def add_status(self, name: str, provider: Callable[[], Any]) -> None:
        """An extra section of `/healthz` (must be JSON-able and free of secrets)."""
        self._status[name] = provider

    async def run(self) -> int:
        """Start every step, serve until SIGTERM/SIGINT, stop in reverse; the process exit code."""
        # Checks start once everything they check is up; on the way out they stop first.
        others = tuple(self.sequence.status())
        self.sequence.register_step(
            "health", Phase.SERVICES, self._start_monitor, dependencies=others, shutdown=self._stop_monitor
        )
        self.sequence.register_step(
            "serving", Phase.SERVICES, lambda: None, dependencies=("health",), shutdown=self._stop_serving
        )
        try:
            report = await run_until_signal(
                self.sequence, grace_period=self.options.grace_period, on_started=self._started
            )
        except StartupFailed as exc:
            self.lifecycle = Lifecycle.FAILED
            log.error("%s", exc, extra={"step": exc.step, "phase": exc.phase})
            return 1
        finally:
            with contextlib.suppress(Exception):
                await self.container.dispose()
        return self._finished(report)

    # -- the shared steps --------------------------------------------------------------------------

    def _register_core_steps(self) -> None:
        core = Phase.CORE
        # Only an API-only config is worth retrying: a bad file stays bad, and is reported at once.
        api_only = self.options.configmap is not None and self.options.config_file is None
        self.sequence.register_step("http", core, self._start_http, shutdown=self._stop_http)
        self.sequence.register_step(
            "config",
            core,
            self._start_config,
            dependencies=("http",),
            retries=4 if api_only else 0,
            shutdown=self.feed.stop,
        )
        if self.reporter is not None:
            self.sequence.register_step(
                "pod-report",
                core,
                self._start_reporter,
                dependencies=("config",),
                shutdown=self._stop_reporter,
            )

    async def _start_http(self) -> None:
        await self.heartbeat.start()
        await self.http.start()

    async def _stop_http(self) -> None:
        await self.http.stop()
        await self.heartbeat.stop()

    async def _start_config(self) -> None:
        await self.feed.load()
        # The loaded document's values, then every later change (both hot).
        self._apply_log_level()
        self._set_interval(
            "system.health_check_interval", None, self.config.config.system.health_check_interval
        )
        self.config.subscribe(self._apply_log_level, prefix="system.log_level")
        self.config.subscribe(self._apply_log_level, prefix="system.debug")
        self.config.subscribe(self._set_interval, prefix="system.health_check_interval")
        await self.feed.start()

    def _apply_log_level(self, path: str | None = None, _old: Any = None, _new: Any = None) -> None:
        """`system.log_level`, or DEBUG while `system.debug` is on; both hot."""
        system = self.config.config.system
        level = effective_level(system)
        set_level(level)
        if path is not None:
            log.info("log level %s (system.debug %s)", level, "on" if system.debug else "off")
        if system.debug:
            log.debug("system.debug is on: debug logging, and /debug answers")

    def _set_interval(self, _path: str, _old: Any, new: Any) -> None:
        self.monitor.interval = float(new)

    async def _start_reporter(self) -> None:
        assert self.reporter is not None
        await self.reporter.start()
        self.reporter.report(self.config.generation)
        self.config.on_applied(self.reporter.report)
        self._readiness_task = asyncio.create_task(
            self._report_readiness(self.reporter), name="readiness-report"
        )

    async def _report_readiness(self, reporter: PodReporter) -> None:
        """The kubelet's probe sees only the status code; the Pod annotation carries the reasons to the
        operator, which shows them in the component's health message."""
        while True:
            reporter.report_readiness(self.probes.readiness().summary())
            await asyncio.sleep(READINESS_REPORT_INTERVAL)

    async def _stop_reporter(self) -> None:
        await cancel_and_wait(self._readiness_task)
        if self.reporter is not None:
            await self.reporter.stop()

    async def _start_monitor(self) -> None:
        await self.monitor.check_now()
        self._monitor_task = asyncio.create_task(self.monitor.run(), name="health-monitor")

    async def _stop_monitor(self) -> None:
        if self._monitor_task is not None:
            self._monitor_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor_task

    async def _started(self) -> None:
        self.lifecycle = Lifecycle.RUNNING
        log.info(
            "component %s is up on %s:%d (config generation %d)",
            self.name,
            self.http.host,
            self.http.port,
            self.config.generation,
            extra={"port": self.http.port, "pid": os.getpid(), "generation": self.config.generation},
        )

    def _stop_serving(self) -> None:
        self.lifecycle = Lifecycle.STOPPING
        log.info("component %s is stopping", self.name)

    def _finished(self, report: ShutdownReport) -> int:
        log.info(
            "stopped: %s",
            ", ".join(report.stopped) or "nothing",
            extra={
                "stopped": list(report.stopped),
                "failed": report.failed,
                "unfinished": list(report.unfinished),
            },
        )
        if not report.clean:
            log.error(
                "shutdown was not clean: failed=%s unfinished=%s", report.failed, list(report.unfinished)
            )
            return 1
        return 0

    def _extra_status(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"config_sources": self.feed.status()}
        if self.reporter is not None:
            extra["pod_reported_generation"] = self.reporter.written
        for name, provider in self._status.items():
            try:
                extra[name] = provider()
            except Exception as exc:  # a status section must never break /healthz
                extra[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return extra


def build_app(options: Options, *, environ: Mapping[str, str] | None = None) -> ComponentApp:
    """The process for `options.component` with the component's factory applied; raises
    `UnknownComponent`, or `ConfigRejected` when the environment overrides are invalid."""
    factory = load_factory(options.component)
    app = ComponentApp(options, environ=environ)
    factory(app)
    return app
