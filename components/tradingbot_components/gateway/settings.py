"""How the gateway reads its part of the bot config, and what it is ready for. Pure.

`circuit_breaker.failure_threshold=N` opens the circuit by two rules, whichever fires first: N exchange
failures in a row (however many successes came before them), or, once the 60 s window holds N calls, at
least half of them failed (a flaky exchange that still answers some calls).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradingbot_components.config.process_settings import read_process_settings
from tradingbot_components.config.schema import CircuitBreakerConfig
from tradingbot_components.kraken.breaker import BreakerState
from tradingbot_components.kraken.limits import REST_LIMITS, TRADING_LIMITS, CounterLimits, Tier
from tradingbot_components.kraken.rate_limit import CounterState
from tradingbot_components.runtime import CheckResult, HealthStatus

FAILURE_RATE = 0.5
BREAKER_WINDOW = 60.0
# The exchange counts a call when it arrives, the governor when it lets it go. When one call takes longer to
# get there than the next, the exchange sees them closer together than the governor did, with that much less
# decay between them: the governor keeps `rate_limiting.timing_margin` seconds of decay free on every counter.


ENV_PREFIX = "TRADINGBOT_GATEWAY_"
# The gateway's health checks: the circuit (its recovery is the half-open probe) and auth's reachability.
CIRCUIT_CHECK = "exchange-circuit"
RATE_CHECK = "exchange-rate"
AUTH_CHECK = "auth"


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Process knobs outside the bot config; defaults suit Kraken. Each can be set in the environment as
    `TRADINGBOT_GATEWAY_<NAME>` (e.g. `TRADINGBOT_GATEWAY_REQUEST_TIMEOUT=3`), in seconds."""

    request_timeout: float = 10.0  # one exchange request
    auth_timeout: float = 5.0  # one signing request
    auth_check_interval: float = 2.0  # between auth reachability checks


def read_gateway_settings(environ: Mapping[str, str]) -> GatewaySettings:
    """`GatewaySettings` with environment overrides; raises ValueError naming the variable and the reason."""
    return read_process_settings(GatewaySettings, ENV_PREFIX, environ)


def breaker_settings(config: CircuitBreakerConfig) -> dict[str, float | int]:
    """`CircuitBreaker.update(**...)` arguments for the config section (both fields are hot)."""
    return {
        "consecutive_failures": config.failure_threshold,
        "minimum_calls": config.failure_threshold,
        "failure_threshold": FAILURE_RATE,
        "window": BREAKER_WINDOW,
        "recovery_timeout": config.recovery_timeout,
    }


def rest_limits(tier: Tier, timing_margin: float) -> CounterLimits:
    """The REST counter the governor admits calls against: Kraken's, less `timing_margin` seconds of decay."""
    return _less_margin(REST_LIMITS[tier], timing_margin)


def trading_limits(tier: Tier, timing_margin: float) -> CounterLimits:
    """Each pair's trading counter as the governor admits orders against it: Kraken's, less the margin."""
    return _less_margin(TRADING_LIMITS[tier], timing_margin)


def _less_margin(published: CounterLimits, timing_margin: float) -> CounterLimits:
    return CounterLimits(
        published.max - published.decay_per_second * timing_margin, published.decay_per_second
    )


def circuit_health(state: BreakerState, retry_after: float, reason: str | None = None) -> CheckResult:
    """The `exchange-circuit` health: ready only while the breaker is closed."""
    if state is BreakerState.CLOSED:
        return CheckResult(HealthStatus.HEALTHY, details={"state": str(state)})
    if state is BreakerState.HALF_OPEN:
        message = "circuit half-open: probing the exchange with a public Time call"
    else:
        why = f" ({reason})" if reason else ""
        message = f"circuit open{why}: the exchange looks unwell; next probe in {retry_after:.1f}s"
    details = {"state": str(state), "retry_after": round(retry_after, 3), "reason": reason}
    return CheckResult(HealthStatus.UNHEALTHY, message, details)


def rate_health(counters: Iterable[CounterState]) -> CheckResult:
    """The `exchange-rate` health: Degraded while Kraken's throttle or lockout answer has calls paused.

    Not critical: the gateway still works (public calls, and private ones once the pause ends) and callers wait
    instead of failing, so it stays ready; the check makes the pause visible in /health and the dashboard."""
    blocked = [c for c in counters if c.blocked_for > 0]
    if not blocked:
        return CheckResult(HealthStatus.HEALTHY)
    longest = max(blocked, key=lambda c: c.blocked_for)
    return CheckResult(
        HealthStatus.DEGRADED,
        f"{longest.name} calls paused for {longest.blocked_for:.0f}s more: Kraken answered {longest.blocked_by}",
        details={
            c.name: {"blocked_for": round(c.blocked_for, 1), "blocked_by": c.blocked_by} for c in blocked
        },
    )


def auth_health(status: int | None, body: object, error: str | None, url: str) -> CheckResult:
    """The `auth` health from one `GET <auth>/readyz`: reachable and ready, or why not."""
    if error is not None or status is None:
        return CheckResult(HealthStatus.UNHEALTHY, f"auth at {url} is unreachable: {error}")
    if status == 200:
        return CheckResult(HealthStatus.HEALTHY)
    reasons = body.get("reasons") if isinstance(body, dict) else None
    why = "; ".join(str(r.get("message")) for r in reasons if isinstance(r, dict)) if reasons else ""
    suffix = f": {why}" if why else ""
    return CheckResult(HealthStatus.UNHEALTHY, f"auth at {url} is not ready (HTTP {status}){suffix}")
