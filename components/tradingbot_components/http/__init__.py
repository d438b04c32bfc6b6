"""HTTP surface of every component process: probes (`/livez`, `/readyz`, `/healthz`), `/metrics`, `/config`."""

from tradingbot_components.http.heartbeat import LoopHeartbeat
from tradingbot_components.http.probes import Lifecycle, NotReady, ProbeRoutes, Readiness, decide_readiness
from tradingbot_components.http.server import HttpServer

__all__ = [
    "HttpServer",
    "Lifecycle",
    "LoopHeartbeat",
    "NotReady",
    "ProbeRoutes",
    "Readiness",
    "decide_readiness",
]
