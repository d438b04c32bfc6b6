"""The REST shell of the simulated exchange: `GET /0/public/<Method>` and `POST /0/private/<Method>`
(form-encoded or JSON bodies), with faults applied first and Kraken's checks in Kraken's order.

Handlers run without awaiting between checks and effects, so concurrent requests see a consistent
engine (the latency fault waits before any of it).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tradingbot_components.exchange_sim.admission import Refused, authenticate, charge_rest
from tradingbot_components.exchange_sim.faults import Scope
from tradingbot_components.exchange_sim.orders import OrderRejected
from tradingbot_components.exchange_sim.rest_private import PRIVATE_METHODS
from tradingbot_components.exchange_sim.rest_public import PUBLIC_METHODS
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.wire import dumps, envelope
from tradingbot_components.kraken.errors import KrakenError
from tradingbot_components.kraken.signing import BodyFormat

SimulatorRef = Callable[[], Simulator | None]


def reply(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json")


def error_reply(sim: Simulator | None, error: str) -> web.Response:
    if sim is not None:
        sim.stats.error(error)
    return reply(envelope(errors=[error]))


def parse_params(body: str, body_format: BodyFormat) -> dict[str, Any]:
    """A private body's fields: the first value of each form field, or the JSON object's members."""
    if body_format is BodyFormat.JSON:
        document = json.loads(body) if body.strip() else {}
        if not isinstance(document, dict):
            raise ValueError("JSON body must be an object")
        return document
    params: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body, keep_blank_values=True):
        params.setdefault(key, value)
    return params


class RestApi:
    def __init__(self, simulator: SimulatorRef, clock: Callable[[], float] = time.time) -> None:
        self._simulator = simulator
        self._clock = clock

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/0/public/{method}", self.public)
        app.router.add_post("/0/private/{method}", self.private)

    async def _fault(self, sim: Simulator, scope: Scope) -> web.Response | None:
        action = sim.faults.on_request(scope, self._clock())
        if action is None:
            return None
        if action.delay:
            await asyncio.sleep(action.delay)
            return None
        if action.status is not None:
            # What Cloudflare sends in front of Kraken: not JSON.
            return web.Response(
                status=action.status, text=f"error code: {action.status}", content_type="text/plain"
            )
        assert action.error is not None
        return error_reply(sim, action.error)

    async def public(self, request: web.Request) -> web.Response:
        sim = self._simulator()
        if sim is None:
            return error_reply(None, KrakenError.SERVICE_UNAVAILABLE.value)
        method = request.match_info["method"]
        sim.stats.requests[method] += 1
        faulted = await self._fault(sim, Scope.PUBLIC)
        if faulted is not None:
            return faulted
        handler = PUBLIC_METHODS.get(method)
        if handler is None:
            return error_reply(sim, KrakenError.UNKNOWN_METHOD.value)
        try:
            result = handler(sim, request.query, self._clock())
        except OrderRejected as rejected:
            return error_reply(sim, rejected.error)
        return reply(envelope(result))

    async def private(self, request: web.Request) -> web.Response:
        sim = self._simulator()
        if sim is None:
            return error_reply(None, KrakenError.SERVICE_UNAVAILABLE.value)
        method = request.match_info["method"]
        sim.stats.requests[method] += 1
        body = await request.text()
        faulted = await self._fault(sim, Scope.PRIVATE)
        if faulted is not None:
            return faulted
        body_format = BodyFormat.JSON if request.content_type == BodyFormat.JSON.value else BodyFormat.FORM
        now = self._clock()
        decision = authenticate(
            sim.accounts,
            api_key=request.headers.get("API-Key"),
            api_sign=request.headers.get("API-Sign"),
            url_path=request.path,
            body=body,
            body_format=body_format,
            nonce_window=sim.settings.nonce_window,
        )
        if isinstance(decision, Refused):
            return error_reply(sim, decision.error.value)
        handler = PRIVATE_METHODS.get(method)
        if handler is None:
            return error_reply(sim, KrakenError.UNKNOWN_METHOD.value)
        refused = charge_rest(decision.account, method, now)
        if refused is not None:
            return error_reply(sim, refused.error.value)
        try:
            params = parse_params(body, body_format)
        except ValueError:
            return error_reply(sim, KrakenError.INVALID_ARGUMENTS.value)
        try:
            result = handler(sim, decision.account, params, now)
        except OrderRejected as rejected:
            return error_reply(sim, rejected.error)
        return reply(envelope(result))
