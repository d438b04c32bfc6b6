"""The health monitor of a component process: checks, pushed statuses, cascading, recovery, alerts, metrics.

Checks are pulled on a schedule (`run`) or on demand (`check_now`); components may also push their
status. Decisions (cascade, recovery timing) are pure functions in `cascade` and `recovery`; this
module runs checks and handlers, keeps the books and publishes them. Time comes from an injectable
clock so tests never sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from tradingbot_components.runtime.alerts import AlertCallback, AlertLog
from tradingbot_components.runtime.cascade import cascade
from tradingbot_components.runtime.graph import find_cycle, format_path
from tradingbot_components.runtime.health_metrics import HealthMetrics
from tradingbot_components.runtime.health_status import (
    Alert,
    AlertReason,
    AlertSeverity,
    CheckResult,
    ComponentHealth,
    HealthStatus,
    worst,
)
from tradingbot_components.runtime.invocation import call_hook, describe_error
from tradingbot_components.runtime.recovery import (
    RecoveryAction,
    RecoveryDeferred,
    RecoveryPolicy,
    RecoveryState,
    after_attempt,
    decide_recovery,
    deferred,
)

Check = Callable[[], Awaitable[HealthStatus | CheckResult]]
RecoveryHandler = Callable[[], Any]
_NOT_CHECKED = CheckResult(HealthStatus.UNKNOWN)
log = logging.getLogger(__name__)


class HealthConfigError(ValueError):
    """The declared checks cannot be evaluated: an unknown dependency or a dependency cycle."""


@dataclass
class _Component:
    name: str
    critical: bool
    depends_on: tuple[str, ...]
    check: Check | None = None
    interval: float | None = None
    timeout: float | None = None
    own: CheckResult = _NOT_CHECKED
    checked_at: float | None = None
    next_due: float = 0.0
    view: ComponentHealth | None = None


@dataclass
class _Recovery:
    handler: RecoveryHandler
    policy: RecoveryPolicy
    state: RecoveryState = field(default_factory=RecoveryState)
    last_result: str | None = None  # what the latest call did, for /healthz


class HealthMonitor:
    """Register checks (or push statuses), then `run()` it, or `check_now()`; read `overall()`/`snapshot()`."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        now: Callable[[], float] = time.time,
        interval: float = 10.0,
        check_timeout: float = 10.0,
        recovery_timeout: float = 30.0,
        alert_capacity: int = 100,
        namespace: str = "tradingbot",
    ) -> None:
        _positive("interval", interval)
        self._now = now
        self._interval = interval
        self.check_timeout = check_timeout
        self.recovery_timeout = recovery_timeout
        self._metrics = HealthMetrics(registry, namespace)
        self._components: dict[str, _Component] = {}
        self._recoveries: dict[str, _Recovery] = {}
        self._alerts = AlertLog(self._metrics, now, alert_capacity)
        self._wake = asyncio.Event()

    # -- declaring -------------------------------------------------------------------------------

    def register_check(
        self,
        name: str,
        check: Check,
        *,
        critical: bool = True,
        interval: float | None = None,
        depends_on: Iterable[str] = (),
        timeout: float | None = None,
    ) -> None:
        """A check run every `interval` seconds (the monitor's interval when None)."""
        if interval is not None:
            _positive(f"interval of {name!r}", interval)
        self._add(_Component(name, critical, tuple(depends_on), check, interval, timeout))

    def register_component(self, name: str, *, critical: bool = True, depends_on: Iterable[str] = ()) -> None:
        """A component without a check, whose status is pushed with `update_component_status`."""
        self._add(_Component(name, critical, tuple(depends_on)))

    def register_recovery(
        self,
        name: str,
        handler: RecoveryHandler,
        *,
        max_attempts: int | None = 3,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        """Call `handler` (sync or async) when `name` turns Unhealthy, then with backoff while it stays so, at
        most `max_attempts` times (None: for as long as it stays unhealthy); an alert reports an exhausted
        budget. The handler may raise `RecoveryDeferred(delay)` to be called again later without spending
        an attempt."""
        self._recoveries[name] = _Recovery(handler, RecoveryPolicy(max_attempts, backoff_base, backoff_max))

    def add_alert_callback(self, callback: AlertCallback) -> None:
        """`callback(alert)` for every new alert; a coroutine function runs as a task."""
        self._alerts.subscribe(callback)

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, seconds: float) -> None:
        """Change the default period at runtime (hot config); a running `run()` adopts it at once."""
        _positive("interval", seconds)
        self._interval = seconds
        for component in self._components.values():
            if component.check is not None and component.interval is None:
                self._reschedule(component)
        self._wake.set()

    def set_check_interval(self, name: str, seconds: float | None) -> None:
        """Override (or with None, stop overriding) the period of one check at runtime."""
        if seconds is not None:
            _positive(f"interval of {name!r}", seconds)
        component = self._get(name)
        component.interval = seconds
        self._reschedule(component)
        self._wake.set()

    # -- observing -------------------------------------------------------------------------------

    def update_component_status(
        self,
        name: str,
        status: HealthStatus,
        details: dict[str, Any] | None = None,
        *,
        message: str | None = None,
    ) -> ComponentHealth:
        """Push a status; an unknown name is registered on the fly as a critical component."""
        if name not in self._components:
            self.register_component(name)
        component = self._components[name]
        component.own = CheckResult(HealthStatus(status), message, details)
        component.checked_at = self._now()
        self._reconcile()
        self._wake.set()  # let a running loop call a recovery handler promptly
        assert component.view is not None
        return component.view

    async def check_now(self, names: Iterable[str] | None = None) -> dict[str, ComponentHealth]:
        """Run the checks (all, or those named) right away, then cascade, alert and recover."""
        wanted = None if names is None else set(names)
        targets = [
            c
            for c in self._components.values()
            if c.check is not None and (wanted is None or c.name in wanted)
        ]
        await self._evaluate(targets)
        return self.components()

    async def run(self) -> None:
        """Run due checks and recoveries until cancelled, waking early when the schedule changes."""
        while True:
            self._wake.clear()
            now = self._now()
            await self._evaluate([c for c in self._components.values() if c.check and c.next_due <= now])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._seconds_to_next_work()):
                    await self._wake.wait()

    # -- reading ---------------------------------------------------------------------------------

    def overall(self) -> HealthStatus:
        """The worst status among critical components (Healthy when there are none)."""
        return worst(c.view.status for c in self._components.values() if c.critical and c.view)

    def component(self, name: str) -> ComponentHealth:
        view = self._get(name).view
        assert view is not None
        return view

    def components(self) -> dict[str, ComponentHealth]:
        return {name: c.view for name, c in self._components.items() if c.view is not None}

    @property
    def alerts(self) -> list[Alert]:
        """Recent alerts, newest first (bounded by `alert_capacity`)."""
        return self._alerts.recent()

    def snapshot(self, *, alerts: int = 20) -> dict[str, Any]:
        """A JSON-able document for `/healthz` (details must themselves be JSON-able)."""
        return {
            "status": str(self.overall()),
            "time": self._now(),
            "components": {name: view.to_dict() for name, view in self.components().items()},
            "alerts": [alert.to_dict() for alert in self._alerts.recent(alerts)],
            "recoveries": {name: self._describe_recovery(r) for name, r in self._recoveries.items()},
        }

    def _describe_recovery(self, recovery: _Recovery) -> dict[str, Any]:
        state, policy = recovery.state, recovery.policy
        waiting = state.attempts > 0 or state.next_attempt_at > 0
        return {
            "attempts": state.attempts,
            "max_attempts": policy.max_attempts,
            "next_attempt_in": round(max(0.0, state.next_attempt_at - self._now()), 3) if waiting else None,
            "exhausted": state.exhausted,
            "last_result": recovery.last_result,
        }

    # -- internals -------------------------------------------------------------------------------

    def _add(self, component: _Component) -> None:
        if component.name in self._components:
            raise HealthConfigError(f"health component {component.name!r} is registered twice")
        self._components[component.name] = component
        component.view = ComponentHealth(
            component.name, HealthStatus.UNKNOWN, HealthStatus.UNKNOWN, component.critical
        )
        self._metrics.set_status(component.name, HealthStatus.UNKNOWN)
        self._wake.set()

    def _get(self, name: str) -> _Component:
        try:
            return self._components[name]
        except KeyError:
            known = ", ".join(self._components) or "none"
            raise KeyError(f"no health component {name!r} (known: {known})") from None

    def _validate(self) -> None:
        for component in self._components.values():
            for dependency in component.depends_on:
                if dependency not in self._components:
                    raise HealthConfigError(
                        f"health component {component.name!r} depends on unknown component {dependency!r}"
                    )
        for name in self._recoveries:
            if name not in self._components:
                raise HealthConfigError(f"recovery registered for unknown health component {name!r}")
        cycle = find_cycle(sorted(self._components), lambda n: self._components[n].depends_on)
        if cycle is not None:
            raise HealthConfigError(f"health depends_on cycle: {format_path(cycle)}")

    async def _evaluate(self, targets: list[_Component]) -> None:
        self._validate()
        results = await asyncio.gather(*(self._run_check(c) for c in targets))
        now = self._now()
        for component, result in zip(targets, results, strict=True):
            component.own, component.checked_at = result, now
            self._reschedule(component)
            log.debug(
                "check %s: %s%s",
                component.name,
                result.status,
                f" ({result.message})" if result.message else "",
                extra={"check": component.name, "status": str(result.status)},
            )
        self._reconcile()
        await self._recover()

    async def _run_check(self, component: _Component) -> CheckResult:
        assert component.check is not None
        timeout = component.timeout if component.timeout is not None else self.check_timeout
        try:
            async with asyncio.timeout(timeout) as window:
                result = await component.check()
        except Exception as exc:
            if isinstance(exc, TimeoutError) and window.expired():
                return CheckResult(HealthStatus.UNHEALTHY, f"check timed out after {timeout}s")
            return CheckResult(HealthStatus.UNHEALTHY, f"check raised {describe_error(exc)}")
        if isinstance(result, CheckResult):
            return result
        if isinstance(result, HealthStatus):
            return CheckResult(result)
        return CheckResult(
            HealthStatus.UNHEALTHY, f"check returned {result!r}; expected a HealthStatus or a CheckResult"
        )

    def _reschedule(self, component: _Component) -> None:
        period = component.interval if component.interval is not None else self._interval
        component.next_due = (
            component.checked_at if component.checked_at is not None else self._now()
        ) + period

    def _reconcile(self) -> None:
        """Cascade, publish the new views, and alert on status changes."""
        self._validate()
        now = self._now()
        effective = cascade(
            {name: c.own.status for name, c in self._components.items()},
            {name: c.depends_on for name, c in self._components.items()},
        )
        for name, component in self._components.items():
            before = component.view
            status, root = effective[name].status, effective[name].root_cause
            changed = before is None or before.status is not status
            component.view = ComponentHealth(
                name=name,
                status=status,
                own_status=component.own.status,
                critical=component.critical,
                root_cause=root,
                message=component.own.message,
                details=component.own.details,
                checked_at=component.checked_at,
                since=now if changed or before is None else before.since,
            )
            if changed:
                self._metrics.set_status(name, status)
                self._alerts.on_change(component.view, before.status if before else HealthStatus.UNKNOWN)

    async def _recover(self) -> None:
        await asyncio.gather(*(self._recover_one(name, r) for name, r in self._recoveries.items()))

    async def _recover_one(self, name: str, recovery: _Recovery) -> None:
        unhealthy = self._components[name].own.status is HealthStatus.UNHEALTHY
        action = decide_recovery(recovery.policy, recovery.state, unhealthy=unhealthy, now=self._now())
        if action is RecoveryAction.RESET:
            recovery.state = RecoveryState()
        elif action is RecoveryAction.EXHAUSTED:
            recovery.state = RecoveryState(
                recovery.state.attempts, recovery.state.next_attempt_at, exhausted=True
            )
            self._alerts.emit(
                AlertSeverity.CRITICAL,
                AlertReason.RECOVERY_EXHAUSTED,
                f"{name} is still unhealthy after {recovery.state.attempts} recovery attempt(s); giving up",
                component=name,
            )
        elif action is RecoveryAction.ATTEMPT:
            attempt = recovery.state.attempts + 1
            budget = recovery.policy.max_attempts
            try:
                async with asyncio.timeout(self.recovery_timeout):
                    await call_hook(recovery.handler)
            except RecoveryDeferred as later:
                recovery.state = deferred(recovery.state, later.delay, now=self._now())
                recovery.last_result = f"deferred: {later}"
                log.debug("recovery of %s deferred %.1fs: %s", name, later.delay, later)
                return
            except Exception as exc:
                recovery.last_result = f"attempt {attempt} raised {describe_error(exc)}"
                self._metrics.count_recovery(name, ok=False)
                self._alerts.emit(
                    AlertSeverity.WARNING,
                    AlertReason.RECOVERY_FAILED,
                    f"recovery attempt {attempt} of {name} raised {describe_error(exc)}",
                    component=name,
                )
            else:
                recovery.last_result = f"attempt {attempt} ran"
                log.info(
                    "recovery of %s: attempt %d%s ran",
                    name,
                    attempt,
                    "" if budget is None else f" of {budget}",
                    extra={"recovery": name, "attempt": attempt},
                )
                self._metrics.count_recovery(name, ok=True)
            recovery.state = after_attempt(recovery.policy, recovery.state, now=self._now())

    def _seconds_to_next_work(self) -> float:
        moments = [c.next_due for c in self._components.values() if c.check is not None]
        moments += [
            r.state.next_attempt_at
            for name, r in self._recoveries.items()
            if name in self._components
            and self._components[name].own.status is HealthStatus.UNHEALTHY
            and not r.state.exhausted
        ]
        if not moments:
            return self._interval
        return max(0.0, min(moments) - self._now())


def _positive(what: str, seconds: float) -> None:
    if seconds <= 0:
        raise ValueError(f"{what} must be > 0 seconds, got {seconds}")
