"""Test doubles for the dispatcher: a scripted exchange, a counting signer, and a rig on virtual time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from tests.unit.components.kraken.fakes import FakeTime
from tradingbot_components.gateway.auth_client import AuthUnavailable, Signature, SigningRejected
from tradingbot_components.gateway.dispatcher import Dispatcher
from tradingbot_components.gateway.metrics import GatewayMetrics
from tradingbot_components.gateway.retry import RetrySettings
from tradingbot_components.kraken.breaker import BreakerSettings, CircuitBreaker
from tradingbot_components.kraken.limits import CounterLimits, Tier
from tradingbot_components.kraken.rate_limit import RateGovernor
from tradingbot_components.kraken.signing import BodyFormat
from tradingbot_components.kraken.transport import ExchangeReply, TransportFailure, parse_reply

Script = ExchangeReply | tuple[int, Any]


def envelope(*errors: str, result: Any = None) -> tuple[int, Any]:
    return 200, {"error": list(errors), "result": {} if result is None else result}


def no_answer(failure: TransportFailure) -> ExchangeReply:
    return ExchangeReply("?", None, None, failure, f"{failure} (scripted)")


@dataclass
class ScriptedExchange:
    """Answers each method from its own queue (default: an empty success); records every request."""

    scripts: dict[str, list[Script]] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (method, body or query)
    in_flight: int = 0
    most_in_flight: int = 0

    def script(self, method: str, *replies: Script) -> None:
        self.scripts.setdefault(method, []).extend(replies)

    async def _answer(self, method: str, payload: str) -> ExchangeReply:
        self.sent.append((method, payload))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # give other callers the chance to overlap, if the code let them
            queue = self.scripts.get(method) or []
            scripted: Script = queue.pop(0) if queue else envelope()
            if isinstance(scripted, ExchangeReply):
                return scripted
            status, document = scripted
            return parse_reply(
                method, status, document if isinstance(document, str) else json.dumps(document)
            )
        finally:
            self.in_flight -= 1

    async def public(self, method: str, query: str = "") -> ExchangeReply:
        return await self._answer(method, query)

    async def private(self, method: str, body: str, headers: Mapping[str, str]) -> ExchangeReply:
        return await self._answer(method, body)

    def methods(self) -> list[str]:
        return [method for method, _ in self.sent]


@dataclass
class CountingAuth:
    """Signs with increasing nonces; can be told to be unavailable for the next n requests."""

    nonce: int = 1000
    unavailable: int = 0
    reject: str | None = None
    requests: list[tuple[str, dict[str, Any], BodyFormat]] = field(default_factory=list)
    base_url: str = "http://auth.test"

    async def sign(self, method: str, params: Mapping[str, Any], body_format: BodyFormat) -> Signature:
        self.requests.append((method, dict(params), body_format))
        if self.unavailable > 0:
            self.unavailable -= 1
            raise AuthUnavailable("auth at http://auth.test is unreachable: scripted")
        if self.reject is not None:
            raise SigningRejected(self.reject)
        self.nonce += 1
        return Signature(f"nonce={self.nonce}", {"API-Key": "k", "API-Sign": "s"}, self.nonce)


class Rig:
    def __init__(self, *, adaptive: bool = True, minimum_calls: int = 3) -> None:
        self.time = FakeTime()
        self.exchange = ScriptedExchange()
        self.auth = CountingAuth()
        self.registry = CollectorRegistry()
        self.governor = RateGovernor(
            Tier.STARTER,
            rest_limits=CounterLimits(15, 0.33),
            clock=self.time.clock,
            sleep=self.time.sleep,
            wall_clock=self.time.clock,
        )
        self.breaker = CircuitBreaker(
            "kraken-rest",
            BreakerSettings(minimum_calls=minimum_calls, failure_threshold=0.5, recovery_timeout=5),
            clock=self.time.clock,
        )
        self.adaptive = adaptive
        self.dispatcher = Dispatcher(
            transport=self.exchange,  # type: ignore[arg-type]
            auth=self.auth,  # type: ignore[arg-type]
            governor=self.governor,
            breaker=self.breaker,
            metrics=GatewayMetrics(self.registry),
            retry=RetrySettings(max_attempts=3, backoff_base=0.25, backoff_max=2.0),
            adaptive=lambda: self.adaptive,
            sleep=self.time.sleep,
        )

    def metric(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value
