"""The gateway's reading of the bot config, and what its readiness says."""

from __future__ import annotations

import pytest

from tradingbot_components.config.schema import CircuitBreakerConfig, RateLimitingConfig
from tradingbot_components.gateway.settings import (
    GatewaySettings,
    auth_health,
    breaker_settings,
    circuit_health,
    rate_health,
    read_gateway_settings,
    rest_limits,
    trading_limits,
)
from tradingbot_components.kraken.breaker import BreakerSettings, BreakerState, CallVerdict, CircuitBreaker
from tradingbot_components.kraken.limits import REST_LIMITS, TRADING_LIMITS, Tier
from tradingbot_components.kraken.rate_limit import CounterState
from tradingbot_components.runtime import HealthStatus


def test_failure_threshold_is_a_streak_and_the_minimum_window_at_half_failures() -> None:
    settings = breaker_settings(CircuitBreakerConfig(failure_threshold=3, recovery_timeout=2.5))
    assert settings == {
        "consecutive_failures": 3,
        "minimum_calls": 3,
        "failure_threshold": 0.5,
        "window": 60.0,
        "recovery_timeout": 2.5,
    }
    BreakerSettings(**settings)  # type: ignore[arg-type]  # valid as a whole


def test_the_seed_threshold_opens_on_five_failures_after_forty_successes() -> None:
    """Issue 12: a busy minute must not hide an outage from the configured breaker."""
    settings = BreakerSettings(**breaker_settings(CircuitBreakerConfig()))  # type: ignore[arg-type]
    cb = CircuitBreaker("kraken-rest", settings, clock=lambda: 1000.0)
    for verdict in [CallVerdict.SUCCESS] * 40 + [CallVerdict.FAILURE] * 5:
        assert cb.allow()
        cb.record(verdict)
    assert cb.state is BreakerState.OPEN


@pytest.mark.parametrize("margin", [0.0, 1.0, 2.5])
def test_the_counters_keep_the_timing_margins_decay_free(margin: float) -> None:
    for tier in Tier:
        for limits, published in (
            (rest_limits(tier, margin), REST_LIMITS[tier]),
            (trading_limits(tier, margin), TRADING_LIMITS[tier]),
        ):
            assert limits.max == pytest.approx(published.max - published.decay_per_second * margin)
            assert limits.decay_per_second == published.decay_per_second


def test_the_default_margin_is_one_second_of_decay() -> None:
    assert RateLimitingConfig().timing_margin == 1.0
    assert rest_limits(Tier.PRO, RateLimitingConfig().timing_margin).max == 19.0


def test_circuit_health() -> None:
    assert circuit_health(BreakerState.CLOSED, 0.0).status is HealthStatus.HEALTHY
    opened = circuit_health(BreakerState.OPEN, 12.34, "failure_rate_exceeded")
    assert opened.status is HealthStatus.UNHEALTHY
    assert opened.message == (
        "circuit open (failure_rate_exceeded): the exchange looks unwell; next probe in 12.3s"
    )
    assert circuit_health(BreakerState.HALF_OPEN, 0.0).status is HealthStatus.UNHEALTHY


def test_auth_health() -> None:
    url = "http://auth"
    assert auth_health(200, {"ready": True}, None, url).status is HealthStatus.HEALTHY
    down = auth_health(None, None, "ClientConnectorError: refused", url)
    assert down.status is HealthStatus.UNHEALTHY and "unreachable" in (down.message or "")
    starting = auth_health(
        503, {"reasons": [{"reason": "Starting", "message": "startup has not finished"}]}, None, url
    )
    assert starting.message == "auth at http://auth is not ready (HTTP 503): startup has not finished"


def test_process_knobs_come_from_the_environment() -> None:
    assert read_gateway_settings({}) == GatewaySettings()
    tuned = read_gateway_settings({"TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "1.5", "OTHER": "x"})
    assert tuned.request_timeout == 1.5 and tuned.auth_timeout == GatewaySettings().auth_timeout
    with pytest.raises(ValueError, match="TRADINGBOT_GATEWAY_AUTH_TIMEOUT: must be a finite number > 0"):
        read_gateway_settings({"TRADINGBOT_GATEWAY_AUTH_TIMEOUT": "0"})
    with pytest.raises(ValueError, match="expected a number"):
        read_gateway_settings({"TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "soon"})


def _counter(name: str, blocked_for: float = 0.0, blocked_by: str = "") -> CounterState:
    return CounterState(name, 0.0, 15.0, 15.0, 15.0, blocked_for, blocked_by, 0, 0.0, 0)


def test_rate_health_is_degraded_while_kraken_has_calls_paused() -> None:
    assert rate_health([_counter("rest"), _counter("trading:XBTUSD")]).status is HealthStatus.HEALTHY
    result = rate_health(
        [_counter("rest", 899.6, "EGeneral:Temporary lockout"), _counter("public", 0.4, "EService:Throttled")]
    )
    assert result.status is HealthStatus.DEGRADED
    assert result.message == "rest calls paused for 900s more: Kraken answered EGeneral:Temporary lockout"
    assert set(result.details) == {"rest", "public"}
