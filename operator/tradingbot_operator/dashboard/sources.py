"""Where the dashboard's numbers come from: a local bot (the runner in this process, or one running elsewhere
through its control API) or a bot in a cluster (its TradingBot status and Events, and the operator's metrics).

A source builds a `DashboardModel` on `fetch()` and carries out the keys: restart a component, suspend or
resume. Every source reads status through the plugin's reader, so all views agree with `kubectl tradingbot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from tradingbot_operator.api.status import Alert
from tradingbot_operator.dashboard.model import (
    DashboardModel,
    Performance,
    Rates,
    Sample,
    parse_metrics,
    performance,
    positions,
)
from tradingbot_operator.plugin.reading import read_bot


class DashboardSource(Protocol):
    title: str

    async def fetch(self) -> DashboardModel: ...

    async def restart(self, component: str) -> str: ...

    async def suspend(self, suspend: bool) -> str: ...


def local_resource(report: Mapping[str, Any]) -> dict[str, Any]:
    from tradingbot_operator.local.health import as_resource

    return as_resource(report)


class LocalTelemetry:
    """Scrapes a local bot's components (127.0.0.1 ports from its report)."""

    def __init__(self) -> None:
        self.rates = Rates()
        self._session: aiohttp.ClientSession | None = None

    async def _get(self, url: str) -> tuple[str | None, str | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.5))
        try:
            async with self._session.get(url) as response:
                return (
                    (await response.text(), None)
                    if response.status == 200
                    else (None, f"HTTP {response.status}")
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return None, type(error).__name__

    async def model(self, report: Mapping[str, Any]) -> DashboardModel:
        urls = {name: row.get("url") for name, row in (report.get("components") or {}).items()}
        problems: list[str] = []

        async def metrics(component: str) -> list[Sample]:
            if not urls.get(component):
                return []
            text, error = await self._get(f"{urls[component]}/metrics")
            if text is None:
                problems.append(f"{component} metrics: {error}")
                return []
            return parse_metrics(text)

        gateway, market_data, trader = await asyncio.gather(
            metrics("gateway"), metrics("market-data"), metrics("trader")
        )
        held: tuple[Any, ...] = ((), None)
        if urls.get("portfolio"):
            import json

            text, _error = await self._get(f"{urls['portfolio']}/positions")
            with contextlib.suppress(ValueError):
                held = positions(json.loads(text)) if text else held
        bot = read_bot(local_resource(report))
        return DashboardModel(
            bot=bot,
            where=f"local ({report.get('mode', 'paper')}), state in {report.get('stateDir', '?')}",
            updated=datetime.now(UTC),
            performance=performance(gateway, market_data, trader, self.rates, time.monotonic()),
            positions=held[0],
            realized_pnl=held[1],
            alerts=tuple(bot.status.alerts),
            suspended=bool(report.get("suspended")),
            problems=tuple(problems)
            + ((f"config file rejected: {report['rejection']}",) if report.get("rejection") else ()),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class RunnerSource:
    """The runner of this process (`tradingbot run --dashboard`)."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.title = f"tradingbot {runner.bot.name}"
        self.telemetry = LocalTelemetry()

    async def fetch(self) -> DashboardModel:
        return await self.telemetry.model(self.runner.report)

    async def restart(self, component: str) -> str:
        self.runner.request_restart(component)
        return f"restart of {component} requested"

    async def suspend(self, suspend: bool) -> str:
        self.runner.suspend(suspend)
        return (
            "suspending: stopping in reverse phase order" if suspend else "resuming: starting phase by phase"
        )


class ControlSource:
    """A local bot run by another `tradingbot run` (through its control API)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.title = f"tradingbot {name}"
        self.telemetry = LocalTelemetry()

    async def fetch(self) -> DashboardModel:
        report = await asyncio.to_thread(self.client.report)
        return await self.telemetry.model(report)

    async def restart(self, component: str) -> str:
        await asyncio.to_thread(self.client.restart, component)
        return f"restart of {component} requested"

    async def suspend(self, suspend: bool) -> str:
        await asyncio.to_thread(self.client.suspend, suspend)
        return "suspend requested" if suspend else "resume requested"


def event_alerts(events: list[Mapping[str, Any]], limit: int = 20) -> tuple[Alert, ...]:
    """Warning Events of a bot as alerts, newest first (for the cluster view)."""
    alerts = []
    for event in events:
        if event.get("type") != "Warning":
            continue
        alerts.append(
            Alert(
                time=str(event.get("lastTimestamp") or event.get("eventTime") or ""),
                severity="warning",
                component=str((event.get("involvedObject") or {}).get("name", "")),
                reason=str(event.get("reason", "")),
                message=str(event.get("message", "")),
            )
        )
    return tuple(sorted(alerts, key=lambda a: a.time, reverse=True)[:limit])


class ClusterSource:
    """A TradingBot in a cluster: its status and Events through the plugin's session, and, given the
    operator's metrics URL, its recovery and alert counters. Keys annotate the TradingBot, as the plugin does."""

    def __init__(self, session: Any, name: str, operator_metrics: str | None = None) -> None:
        self.session = session
        self.name = name
        self.operator_metrics = operator_metrics
        self.title = f"kubectl tradingbot dashboard {name}"

    def _read(self) -> DashboardModel:
        from tradingbot_operator.plugin.diagnostics import related_events

        raw = self.session.get_bot(self.name)
        bot = read_bot(raw)
        problems: list[str] = []
        try:
            listing = self.session.call(
                self.session.core.list_namespaced_event,
                bot.namespace,
                action="list events",
                namespace=bot.namespace,
            )
            uid = str((raw.get("metadata") or {}).get("uid"))
            events = list(related_events(listing.get("items") or [], bot.name, {uid}, []))
        except Exception as error:
            problems.append(f"events: {getattr(error, 'message', error)}")
            events = []
        alerts = tuple(bot.status.alerts) or event_alerts(events)
        notes = ["per-component rates: see the Grafana dashboard (charts/tradingbot-operator)"]
        if self.operator_metrics:
            notes += self._operator_notes(problems)
        return DashboardModel(
            bot=bot,
            where=f"cluster, namespace {bot.namespace}",
            updated=datetime.now(UTC),
            performance=Performance(notes=tuple(notes)),
            alerts=alerts,
            suspended=bool((raw.get("spec") or {}).get("suspend")),
            problems=tuple(problems),
        )

    def _operator_notes(self, problems: list[str]) -> list[str]:
        import urllib.request

        from tradingbot_operator.dashboard.model import total

        try:
            with urllib.request.urlopen(f"{self.operator_metrics}", timeout=3) as response:
                samples = parse_metrics(response.read().decode())
        except OSError as error:
            problems.append(f"operator metrics: {error}")
            return []
        restarts = total(samples, "tradingbot_recovery_actions_total", bot=self.name, action="Restart") or 0
        alerts = total(samples, "tradingbot_alerts_total", bot=self.name) or 0
        return [f"operator: {int(restarts)} recovery restarts, {int(alerts)} alerts since it started"]

    async def fetch(self) -> DashboardModel:
        return await asyncio.to_thread(self._read)

    async def restart(self, component: str) -> str:
        from tradingbot_operator.plugin import restart

        def request() -> str:
            bot = read_bot(self.session.get_bot(self.name))
            plan = restart.plan_request(bot, component)
            restart.request_restart(self.session, bot, plan)
            return f"restart of {', '.join(plan.expected)} requested (annotation {plan.annotation})"

        return await asyncio.to_thread(request)

    async def suspend(self, suspend: bool) -> str:
        await asyncio.to_thread(self.session.patch_bot, self.name, {"spec": {"suspend": suspend}})
        return f"spec.suspend set to {str(suspend).lower()}"
