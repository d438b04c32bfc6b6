"""Counters the simulator keeps for tests and benchmarks, served at `GET /_sim/stats`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimStats:
    requests: Counter[str] = field(default_factory=Counter)  # by REST method or `ws:<method>`
    errors: Counter[str] = field(default_factory=Counter)  # by error text
    orders: Counter[str] = field(default_factory=Counter)  # placed, validated, rejected, filled, canceled...
    ws_connections_total: int = 0
    ws_connections_open: int = 0
    ws_messages_sent: int = 0
    ws_dropped: int = 0
    market_steps: int = 0

    def error(self, text: str) -> None:
        self.errors[text] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "errors": dict(self.errors),
            "orders": dict(self.orders),
            "rate_limit_rejections": self.errors["EAPI:Rate limit exceeded"],
            "trading_rate_limit_rejections": self.errors["EOrder:Rate limit exceeded"],
            "nonce_rejections": self.errors["EAPI:Invalid nonce"],
            "signature_rejections": self.errors["EAPI:Invalid signature"],
            "key_rejections": self.errors["EAPI:Invalid key"],
            "ws": {
                "connections_total": self.ws_connections_total,
                "connections_open": self.ws_connections_open,
                "messages_sent": self.ws_messages_sent,
                "dropped": self.ws_dropped,
            },
            "market_steps": self.market_steps,
        }
