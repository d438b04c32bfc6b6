"""HTTP surface of every component process: probes (`/livez`, `/readyz`, `/healthz`), `/metrics`, `/config`,
and `/debug` while `system.debug` is on."""

from tradingbot_components.http.debug import DebugRoutes
from tradingbot_components.http.heartbeat import LoopHeartbeat
from tradingbot_components.http.probes import Lifecycle, NotReady, ProbeRoutes, Readiness, decide_readiness
from tradingbot_components.http.server import HttpServer

__all__ = [
    "DebugRoutes",
    "HttpServer",
    "Lifecycle",
    "LoopHeartbeat",
    "NotReady",
    "ProbeRoutes",
    "Readiness",
    "decide_readiness",
]
