"""How the gateway's collaborators are made: container registrations (singletons, built on first resolve in
the Network phase, once the config is loaded), so the container is where the gateway gets them.

The exchange and auth HTTP clients are started by the container and closed by it when the process ends.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tradingbot_components.config.manager import ConfigManager
from tradingbot_components.gateway.auth_client import AuthClient
from tradingbot_components.gateway.dispatcher import Dispatcher
from tradingbot_components.gateway.metrics import GatewayMetrics
from tradingbot_components.gateway.probing import HalfOpenProber
from tradingbot_components.gateway.settings import (
    AUTH_CHECK,
    GatewaySettings,
    breaker_settings,
    rest_limits,
    trading_limits,
)
from tradingbot_components.kraken.breaker import BreakerSettings, CircuitBreaker
from tradingbot_components.kraken.limits import Tier
from tradingbot_components.kraken.rate_limit import RateGovernor
from tradingbot_components.kraken.transport import KrakenTransport
from tradingbot_components.runtime import Container, HealthMonitor, HealthStatus


def register(container: Container, settings: GatewaySettings) -> None:
    container.register_instance(GatewaySettings, settings)
    container.register_singleton(GatewayMetrics, gateway_metrics)
    container.register_singleton(RateGovernor, rate_governor)
    container.register_singleton(CircuitBreaker, circuit_breaker)
    container.register_singleton(
        KrakenTransport, exchange_transport, init_method="start", dispose_method="close"
    )
    container.register_singleton(AuthClient, auth_client, init_method="start", dispose_method="close")
    container.register_singleton(Dispatcher, dispatcher)
    container.register_singleton(HalfOpenProber, half_open_prober)


def gateway_metrics(registry: CollectorRegistry) -> GatewayMetrics:
    return GatewayMetrics(registry)


def rate_governor(config: ConfigManager, registry: CollectorRegistry) -> RateGovernor:
    """Built for the tier and margin in force at start (both are restart fields)."""
    rate_limiting = config.config.rate_limiting
    tier = Tier(rate_limiting.tier)
    return RateGovernor(
        tier,
        rest_limits=rest_limits(tier, rate_limiting.timing_margin),
        trading_limits=trading_limits(tier, rate_limiting.timing_margin),
        registry=registry,
        name="gateway",
    )


def circuit_breaker(config: ConfigManager, registry: CollectorRegistry) -> CircuitBreaker:
    settings = BreakerSettings(**breaker_settings(config.config.circuit_breaker))  # type: ignore[arg-type]
    return CircuitBreaker("kraken-rest", settings, registry=registry)


def exchange_transport(config: ConfigManager, settings: GatewaySettings) -> KrakenTransport:
    return KrakenTransport(config.config.endpoints.exchange_rest, timeout=settings.request_timeout)


def auth_client(config: ConfigManager, settings: GatewaySettings) -> AuthClient:
    return AuthClient(config.config.endpoints.auth, timeout=settings.auth_timeout)


def dispatcher(
    transport: KrakenTransport,
    auth: AuthClient,
    governor: RateGovernor,
    breaker: CircuitBreaker,
    metrics: GatewayMetrics,
    config: ConfigManager,
    monitor: HealthMonitor,
) -> Dispatcher:
    def auth_failed(message: str) -> None:
        monitor.update_component_status(AUTH_CHECK, HealthStatus.UNHEALTHY, message=message)

    return Dispatcher(
        transport=transport,
        auth=auth,
        governor=governor,
        breaker=breaker,
        metrics=metrics,
        adaptive=lambda: bool(config.config.rate_limiting.adaptive_mode),  # hot: read per call
        on_auth_failure=auth_failed,
    )


def half_open_prober(breaker: CircuitBreaker, calls: Dispatcher) -> HalfOpenProber:
    prober = HalfOpenProber(breaker, calls.probe)
    breaker.add_listener(prober.on_state_change)
    return prober
