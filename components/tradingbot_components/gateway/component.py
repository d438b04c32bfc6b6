"""The gateway component: the bot's one way to Kraken REST. It owns the key's rate governor and circuit
breaker, gets signatures from auth, and is ready only while the circuit is closed and auth answers.

Hot config: `circuit_breaker.*` updates the breaker in place; `rate_limiting.adaptive_mode` is read per call.
`rate_limiting.tier` is a restart field (the governor is built for one tier). Collaborators come from the
container (`wiring`); an open circuit is brought back by the health monitor's recovery of `exchange-circuit`,
the half-open probe (`probing`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradingbot_components.app import ComponentApp
from tradingbot_components.config.process_settings import settings_or_reject
from tradingbot_components.gateway import wiring
from tradingbot_components.gateway.api import GatewayApi
from tradingbot_components.gateway.auth_client import AuthClient
from tradingbot_components.gateway.dispatcher import Dispatcher
from tradingbot_components.gateway.probing import HalfOpenProber
from tradingbot_components.gateway.settings import (
    AUTH_CHECK,
    CIRCUIT_CHECK,
    RATE_CHECK,
    GatewaySettings,
    auth_health,
    breaker_settings,
    circuit_health,
    rate_health,
    read_gateway_settings,
)
from tradingbot_components.kraken.breaker import CircuitBreaker, StateChange
from tradingbot_components.kraken.rate_limit import RateGovernor
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase, RecoveryDeferred

log = logging.getLogger(__name__)

__all__ = ["AUTH_CHECK", "CIRCUIT_CHECK", "GatewayService", "build"]


class GatewayService:
    """Started in the Network phase, once the config is loaded (the tier and endpoints come from it); its
    collaborators come from the container (`wiring`)."""

    def __init__(self, app: ComponentApp, settings: GatewaySettings | None = None) -> None:
        self._app = app
        self.settings = settings or GatewaySettings()
        self.dispatcher: Dispatcher | None = None
        self.breaker: CircuitBreaker | None = None
        self.governor: RateGovernor | None = None
        self.auth: AuthClient | None = None
        self._prober: HalfOpenProber | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self) -> None:
        container = self._app.container
        self.dispatcher = await container.resolve(Dispatcher)
        self.governor, self.breaker = self.dispatcher.governor, self.dispatcher.breaker
        self.auth = self.dispatcher.auth
        self._prober = await container.resolve(HalfOpenProber)
        self.breaker.add_listener(self._circuit_changed)
        self._unsubscribe.append(self._app.config.subscribe(self._breaker_config, prefix="circuit_breaker"))
        config = self._app.config.config
        log.info(
            "gateway to %s (tier %s) via auth %s",
            config.endpoints.exchange_rest,
            self.governor.tier,
            config.endpoints.auth,
            extra={"tier": str(self.governor.tier)},
        )

    async def stop(self) -> None:
        """Refuse new calls; the container closes the exchange and auth clients when the process ends."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.dispatcher = None

    async def probe_circuit(self) -> None:
        """The recovery of `exchange-circuit`: the half-open probe, once the breaker allows one."""
        if self._prober is None:
            raise RecoveryDeferred("the exchange client is not started", 1.0)
        await self._prober()

    # -- hot config --------------------------------------------------------------------------------

    def _breaker_config(self, path: str, old: Any, new: Any) -> None:
        if self.breaker is None:
            return
        self.breaker.update(**breaker_settings(self._app.config.config.circuit_breaker))
        log.info("circuit breaker settings updated (%s: %r -> %r)", path, old, new, extra={"changed": path})

    # -- health ------------------------------------------------------------------------------------

    def _circuit_changed(self, change: StateChange) -> None:
        result = self._circuit_result(str(change.reason))
        self._app.monitor.update_component_status(
            CIRCUIT_CHECK, result.status, result.details, message=result.message
        )

    def _circuit_result(self, reason: str | None = None) -> CheckResult:
        breaker = self.breaker
        if breaker is None:
            return CheckResult(HealthStatus.UNHEALTHY, "the exchange client is not started")
        if reason is None and self._prober is not None and self._prober.last_change is not None:
            reason = str(self._prober.last_change.reason)
        return circuit_health(breaker.state, breaker.retry_after(), reason)

    async def check_circuit(self) -> CheckResult:
        return self._circuit_result()

    async def check_rate(self) -> CheckResult:
        if self.governor is None:
            return CheckResult(HealthStatus.UNKNOWN, "the exchange client is not started")
        return rate_health(self.governor.counters())

    async def check_auth(self) -> CheckResult:
        if self.auth is None:
            return CheckResult(HealthStatus.UNHEALTHY, "the auth client is not started")
        status, body, error = await self.auth.readiness()
        return auth_health(status, body, error, self.auth.base_url)

    def status(self) -> dict[str, Any]:
        breaker, governor = self.breaker, self.governor
        if breaker is None or governor is None:
            return {"started": False}
        failure_rate, _slow, calls = breaker.rates()
        return {
            "started": True,
            "tier": str(governor.tier),
            "adaptive_mode": self._app.config.config.rate_limiting.adaptive_mode,
            "circuit": {
                "state": str(breaker.state),
                "retry_after": round(breaker.retry_after(), 3),
                "failure_rate": failure_rate,
                "calls_in_window": calls,
                "failure_streak": breaker.failure_streak,
                "settings": {
                    "consecutive_failures": breaker.settings.consecutive_failures,
                    "minimum_calls": breaker.settings.minimum_calls,
                    "failure_threshold": breaker.settings.failure_threshold,
                    "recovery_timeout": breaker.settings.recovery_timeout,
                },
                "probes": self._prober.probes if self._prober else 0,
            },
            "rate_counters": {
                state.name: {"level": round(state.level, 3), "cap": round(state.cap, 3), "max": state.max}
                for state in governor.counters()
            },
        }


def build(app: ComponentApp) -> None:
    settings = settings_or_reject(read_gateway_settings, app.environ)
    service = GatewayService(app, settings)
    app.container.register_instance(GatewayService, service)
    wiring.register(app.container, settings)
    GatewayApi(lambda: service.dispatcher).add_to(app.http.app)
    app.sequence.register_step("exchange-client", Phase.NETWORK, service.start, shutdown=service.stop)
    app.monitor.register_check(CIRCUIT_CHECK, service.check_circuit, critical=True, interval=1.0)
    # Never gives up (the exchange comes back); the breaker's recovery_timeout paces the probes.
    app.monitor.register_recovery(
        CIRCUIT_CHECK, service.probe_circuit, max_attempts=None, backoff_base=1.0, backoff_max=1.0
    )
    app.monitor.register_check(RATE_CHECK, service.check_rate, critical=False, interval=1.0)
    app.monitor.register_check(
        AUTH_CHECK,
        service.check_auth,
        critical=True,
        interval=service.settings.auth_check_interval,
        timeout=service.settings.auth_timeout,
    )
    app.add_status("gateway", service.status)
