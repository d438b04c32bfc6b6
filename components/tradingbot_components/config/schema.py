"""Schema of the bot config document (`spec.config` of a TradingBot, or a local config.json).

Every field carries a reload policy: `hot` fields are applied in place by running components, `restart`
fields are hashed into the pod template of exactly the components that read them. Field names keep the
seed's snake_case so one document serves a local run and the cluster.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Every built-in component, in startup order (the operator's planner owns the phases).
COMPONENT_NAMES: tuple[str, ...] = (
    "storage",
    "exchange-sim",
    "auth",
    "gateway",
    "market-data",
    "balance-manager",
    "portfolio",
    "trader",
)
_ALL = frozenset(COMPONENT_NAMES)


class Reload(enum.StrEnum):
    HOT = "hot"
    RESTART = "restart"


@dataclass(frozen=True)
class FieldPolicy:
    """How a change of one config field reaches the components."""

    path: str
    reload: Reload
    readers: frozenset[str]
    secret: bool = False


def _policy(
    reload: Reload, readers: frozenset[str] | set[str] = _ALL, *, secret: bool = False
) -> dict[str, Any]:
    return {
        "x-tradingbot-reload": reload.value,
        "x-tradingbot-readers": sorted(readers),
        **({"x-tradingbot-secret": True} if secret else {}),
    }


def hot(default: Any, description: str, **constraints: Any) -> Any:
    return Field(
        default,
        description=f"{description} (hot: applied without restart)",
        json_schema_extra=_policy(Reload.HOT),
        **constraints,
    )


def restart(default: Any, description: str, readers: set[str], **constraints: Any) -> Any:
    who = ", ".join(sorted(readers))
    return Field(
        default,
        description=f"{description} (restart: rolls {who})",
        json_schema_extra=_policy(Reload.RESTART, readers),
        **constraints,
    )


Pair = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,10}/[A-Z0-9]{2,10}$")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SystemConfig(Section):
    """Process-wide behaviour of every component."""

    debug: bool = hot(False, "Debug logging in every component, and its /debug endpoint (off: 403)")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = hot("INFO", "Minimum log level")
    health_check_interval: int = hot(60, "Seconds between in-process health checks", ge=1, le=3600)


class ExchangeConfig(Section):
    """Which exchange API the bot speaks."""

    name: Literal["kraken"] = restart("kraken", "Exchange name", {"auth", "gateway", "market-data"})
    api_version: Literal["v2"] = restart("v2", "WebSocket API version", {"gateway", "market-data"})


class RateLimitingConfig(Section):
    """Kraken's REST and trading rate counters."""

    tier: Literal["starter", "intermediate", "pro"] = restart(
        "starter",
        "Kraken verification tier; sets the REST counter limit and decay",
        {"gateway", "exchange-sim"},
    )
    adaptive_mode: bool = hot(True, "Back off further after an 'EAPI:Rate limit exceeded' answer")
    timing_margin: float = restart(
        1.0,
        "Seconds by which a request's trip to Kraken may vary that the gateway's pacing absorbs: it keeps that "
        "much of each counter's decay free",
        {"gateway"},
        ge=0,
        le=10,
    )


class CircuitBreakerConfig(Section):
    """When the gateway stops calling the exchange."""

    failure_threshold: int = hot(
        5,
        "Exchange failures in a row that open the circuit; it also opens when half of the calls in the "
        "last 60 s failed, once there were this many",
        ge=1,
        le=1000,
    )
    recovery_timeout: float = hot(
        60.0, "Seconds the circuit stays open before a half-open probe", gt=0, le=3600
    )


class TradingConfig(Section):
    """The strategy's parameters."""

    profit_target: float = hot(0.005, "Take-profit as a fraction of the entry price", gt=0, lt=1)
    max_position_size: float = hot(100.0, "Largest position per pair, in quote currency", gt=0)
    pairs: list[Pair] = restart(
        ["XBT/USD"],
        "Pairs to trade, in Kraken's WebSocket v2 form (BASE/QUOTE)",
        {"exchange-sim", "market-data", "balance-manager", "portfolio", "trader"},
        min_length=1,
        max_length=50,
    )


class EndpointsConfig(Section):
    """Where the components reach each other and the exchange; the operator fills these in per bot."""

    exchange_rest: str = restart(
        "https://api.kraken.com", "Exchange REST base URL", {"auth", "gateway", "market-data"}
    )
    exchange_ws: str = restart(
        "wss://ws.kraken.com/v2",
        "Exchange WebSocket v2 URL (public channels and, with a token from auth, private ones)",
        {"market-data", "balance-manager", "portfolio", "trader"},
    )
    auth: str = restart(
        "http://127.0.0.1:8101",
        "auth component URL (signatures, WebSocket tokens)",
        {"gateway", "balance-manager", "portfolio", "trader"},
    )
    gateway: str = restart(
        "http://127.0.0.1:8102", "gateway component URL", {"balance-manager", "portfolio", "trader"}
    )
    storage: str = restart(
        "http://127.0.0.1:8100", "storage component URL", {"auth", "balance-manager", "portfolio", "trader"}
    )
    market_data: str = restart(
        "ws://127.0.0.1:8103/stream", "market-data stream URL", {"portfolio", "trader"}
    )
    balance_manager: str = restart(
        "http://127.0.0.1:8104", "balance-manager component URL", {"portfolio", "trader"}
    )
    portfolio: str = restart("http://127.0.0.1:8105", "portfolio component URL", {"trader"})


class StorageConfig(Section):
    """Where the storage component keeps its data."""

    backend: Literal["sqlite", "postgres"] = restart("sqlite", "Storage engine", {"storage"})
    sqlite_path: str = restart(
        "/var/lib/tradingbot/storage.db", "SQLite database file (on a volume)", {"storage"}
    )
    dsn: str | None = Field(
        None,
        description="PostgreSQL DSN; secret: set it by environment (TRADINGBOT_STORAGE_DSN), never in a ConfigMap",
        json_schema_extra=_policy(Reload.RESTART, {"storage"}, secret=True),
    )


class BotConfig(Section):
    """The whole config document; every section has defaults, so `{}` is a valid document."""

    system: SystemConfig = Field(default_factory=SystemConfig, description=SystemConfig.__doc__)
    exchange: ExchangeConfig = Field(default_factory=ExchangeConfig, description=ExchangeConfig.__doc__)
    rate_limiting: RateLimitingConfig = Field(
        default_factory=RateLimitingConfig, description=RateLimitingConfig.__doc__
    )
    circuit_breaker: CircuitBreakerConfig = Field(
        default_factory=CircuitBreakerConfig, description=CircuitBreakerConfig.__doc__
    )
    trading: TradingConfig = Field(default_factory=TradingConfig, description=TradingConfig.__doc__)
    endpoints: EndpointsConfig = Field(default_factory=EndpointsConfig, description=EndpointsConfig.__doc__)
    storage: StorageConfig = Field(default_factory=StorageConfig, description=StorageConfig.__doc__)


def field_policies(model: type[BaseModel] = BotConfig, prefix: str = "") -> dict[str, FieldPolicy]:
    """Every leaf field of the document by dotted path (`trading.profit_target`) with its reload policy."""
    policies: dict[str, FieldPolicy] = {}
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            policies.update(field_policies(annotation, f"{path}."))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        policies[path] = FieldPolicy(
            path=path,
            reload=Reload(extra.get("x-tradingbot-reload", Reload.RESTART.value)),
            readers=frozenset(extra.get("x-tradingbot-readers", _ALL)),
            secret=bool(extra.get("x-tradingbot-secret", False)),
        )
    return policies
