"""The gateway's own Prometheus series (the governor and breaker report theirs on the same registry)."""

from __future__ import annotations

import enum

from prometheus_client import CollectorRegistry, Counter, Histogram


class CallOutcome(enum.StrEnum):
    """How a call through the gateway ended, as its caller saw it."""

    OK = "ok"
    KRAKEN_ERROR = "kraken_error"  # Kraken answered with errors (EOrder:*, EGeneral:*, ...)
    RATE_LIMITED = "rate_limited"  # Kraken refused for rate or lockout
    CIRCUIT_OPEN = "circuit_open"  # refused here: the breaker is open
    AUTH_UNAVAILABLE = "auth_unavailable"  # refused here: no signature could be had
    BAD_REQUEST = "bad_request"  # refused here: the params cannot be sent
    EXCHANGE_FAILURE = "exchange_failure"  # no usable answer: timeout, unreachable, HTTP 5xx


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry, namespace: str = "tradingbot") -> None:
        self.calls = Counter(
            "gateway_calls",
            "Calls through the gateway by Kraken method and outcome",
            ["method", "outcome"],
            namespace=namespace,
            registry=registry,
        )
        self.requests = Counter(
            "gateway_exchange_requests",
            "Requests sent to the exchange by method and what came of them",
            ["method", "delivery"],
            namespace=namespace,
            registry=registry,
        )
        self.retries = Counter(
            "gateway_retries",
            "Requests sent again, by method and reason",
            ["method", "reason"],
            namespace=namespace,
            registry=registry,
        )
        self.latency = Histogram(
            "gateway_call_seconds",
            "Time from receiving a call to answering it (queueing, signing, retries included)",
            ["method"],
            namespace=namespace,
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
