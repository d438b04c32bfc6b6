"""The simulator's control plane for tests and drills (not part of Kraken's API):

- `POST /_sim/faults` sets a fault (see `faults.py`), `GET /_sim/faults` shows the active one;
- `GET /_sim/stats` returns request, error, order and WebSocket counters;
- `GET /_sim/market` shows each pair's fair price and touch; `POST /_sim/market {"pair", "price"}` moves
  a pair's fair price there now (resting orders it crosses fill), so tests need not wait for the walk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from tradingbot_components.exchange_sim.faults import FaultMode, FaultSpecError, parse_fault
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.wire import fixed
from tradingbot_components.exchange_sim.ws import WsHub


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class ControlApi:
    def __init__(
        self, simulator: Callable[[], Simulator | None], hub: WsHub, clock: Callable[[], float] = time.time
    ) -> None:
        self._simulator = simulator
        self._hub = hub
        self._clock = clock

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/_sim/faults", self.get_faults)
        app.router.add_post("/_sim/faults", self.set_fault)
        app.router.add_get("/_sim/stats", self.stats)
        app.router.add_get("/_sim/market", self.market)
        app.router.add_post("/_sim/market", self.move_market)

    def _sim(self) -> Simulator:
        sim = self._simulator()
        if sim is None:
            raise web.HTTPServiceUnavailable(
                text='{"error": "the simulator is starting"}', content_type="application/json"
            )
        return sim

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text='{"error": "body: expected JSON"}', content_type="application/json"
            ) from None

    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self._sim().faults.describe(self._clock()))

    async def set_fault(self, request: web.Request) -> web.Response:
        sim = self._sim()
        now = self._clock()
        try:
            fault = parse_fault(await self._json(request), now)
        except FaultSpecError as exc:
            return _problem(400, str(exc))
        sim.faults.apply(fault)
        body = sim.faults.describe(now)
        if fault.mode is FaultMode.DROP_WS:
            body["dropped"] = self._hub.drop_all()
        return web.json_response(body)

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self._sim().stats.to_dict())

    def _market_view(self, sim: Simulator) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pair_id, market in sim.engine.markets.items():
            pair = market.pair
            bid, ask = market.best_bid(), market.best_ask()
            out[pair.wsname] = {
                "id": pair_id,
                "symbol": pair.symbol,
                "fair": fixed(pair.price(market.fair), pair.pair_decimals),
                "bid": None if bid is None else fixed(pair.price(bid), pair.pair_decimals),
                "ask": None if ask is None else fixed(pair.price(ask), pair.pair_decimals),
                "levels": [len(market.bids), len(market.asks)],
            }
        return out

    async def market(self, request: web.Request) -> web.Response:
        return web.json_response(self._market_view(self._sim()))

    async def move_market(self, request: web.Request) -> web.Response:
        sim = self._sim()
        body = await self._json(request)
        if not isinstance(body, dict):
            return _problem(400, 'body: expected {"pair": "XBT/USD", "price": "61000"}')
        pair = sim.catalog.pair(str(body.get("pair", "")))
        if pair is None:
            return _problem(
                400, f"pair: unknown pair {body.get('pair')!r}; known: {sorted(sim.catalog.pairs)}"
            )
        try:
            price = Decimal(str(body.get("price")))
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or price <= 0:
            return _problem(400, f"price: expected a positive decimal, got {body.get('price')!r}")
        trades = sim.engine.move_market(pair, price, self._clock())
        self._hub.wake.set()
        return web.json_response({"traded": len(trades), "market": self._market_view(sim)[pair.wsname]})
