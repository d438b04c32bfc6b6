"""The gateway's internal HTTP API: Kraken's REST methods by name, answered with Kraken's envelope.

    GET  /public/<Method>?<Kraken query>     e.g. /public/Ticker?pair=XBTUSD
    POST /private/<Method>                   JSON object of Kraken params, e.g. {"pair": "XBTUSD", ...}
         ?pair=XBTUSD&order_age=12.5         optional hints for trading calls whose params lack them
                                             (CancelOrder by txid), so the right pair counter is charged

Kraken's answers pass through as HTTP 200 `{"error": [...], "result": ...}`, `EOrder:*` included. The
gateway's own refusals use the same envelope with an `EGateway:*` (or `EGeneral:Invalid arguments`) error:
503 circuit open (with Retry-After) or auth unavailable, 502/504 no usable answer from the exchange, 400 a
request that cannot be sent. Prices and volumes must be strings: floats cannot carry exact amounts.
Headers: `X-Gateway-Attempts` (requests sent to the exchange), `X-Gateway-Outcome`, `X-Gateway-Wait` (seconds the
call waited for its turn and for rate capacity, apart from the exchange's own time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tradingbot_components.gateway.answers import GatewayAnswer
from tradingbot_components.gateway.dispatcher import Dispatcher

_METHOD = re.compile(r"^[A-Za-z]{1,64}$")


def _refusal(status: int, text: str) -> web.Response:
    return web.json_response({"error": [text], "result": None}, status=status)


def render(answer: GatewayAnswer) -> web.Response:
    headers = {
        "X-Gateway-Attempts": str(answer.attempts),
        "X-Gateway-Outcome": answer.outcome.value,
        **answer.headers,
    }
    return web.json_response(answer.body, status=answer.status, headers=headers)


def _order_age(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        age = float(raw)
    except ValueError:
        raise ValueError(f"order_age must be a number of seconds, got {raw!r}") from None
    if age < 0:
        raise ValueError(f"order_age must be >= 0, got {raw!r}")
    return age


class GatewayApi:
    def __init__(self, dispatcher: Callable[[], Dispatcher | None]) -> None:
        self._dispatcher = dispatcher

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/public/{method}", self.public)
        app.router.add_post("/private/{method}", self.private)

    async def public(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if not _METHOD.match(method):
            return _refusal(400, f"EGeneral:Invalid arguments:method name {method!r} is not a Kraken method")
        dispatcher = self._dispatcher()
        if dispatcher is None:
            return _refusal(503, "EGateway:Starting:the exchange client is not open yet")
        _, _, query = request.raw_path.partition("?")  # as sent: decoding could change its meaning
        return render(await dispatcher.public(method, query))

    async def private(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if not _METHOD.match(method):
            return _refusal(400, f"EGeneral:Invalid arguments:method name {method!r} is not a Kraken method")
        text = await request.text()
        try:
            params: Any = json.loads(text) if text.strip() else {}
        except ValueError:
            return _refusal(400, "EGeneral:Invalid arguments:the body must be a JSON object of Kraken params")
        if not isinstance(params, dict):
            return _refusal(400, "EGeneral:Invalid arguments:the body must be a JSON object of Kraken params")
        if "nonce" in params:
            return _refusal(400, "EGeneral:Invalid arguments:leave out 'nonce': the gateway assigns it")
        try:
            order_age = _order_age(request.query.get("order_age"))
        except ValueError as exc:
            return _refusal(400, f"EGeneral:Invalid arguments:{exc}")
        dispatcher = self._dispatcher()
        if dispatcher is None:
            return _refusal(503, "EGateway:Starting:the exchange client is not open yet")
        answer = await dispatcher.private(
            method, params, pair_hint=request.query.get("pair") or None, order_age=order_age
        )
        return render(answer)
