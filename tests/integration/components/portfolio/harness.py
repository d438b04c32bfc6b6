"""portfolio as a real process against the exchange simulator, with the path it needs: storage, auth and
gateway (`connectivity.stack`), market-data, all on 127.0.0.1. Orders are placed through the gateway as any
component would; the simulator's own order records are the reference the positions are checked against.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.components.connectivity.stack import Stack, start_stack, write_config
from tests.integration.components.market_data.harness import start_market_data
from tests.integration.components.process import ComponentProcess, ComponentRunner, request
from tests.support.waiting import wait_until

PAIR = "XBT/USD"  # as configured
SYMBOL = "BTC/USD"  # as portfolio shows it (WS v2)
D = Decimal


@dataclass
class PortfolioBot:
    stack: Stack
    market_data: ComponentProcess
    portfolio: ComponentProcess
    config: Path

    @property
    def sim(self):  # type: ignore[no-untyped-def]
        return self.stack.sim

    # -- portfolio ---------------------------------------------------------------------------------

    def start_portfolio(self, *, wait: bool = True) -> ComponentProcess:
        self.portfolio = self.stack.components.start("portfolio", "--config", str(self.config))
        if wait:
            self.portfolio.wait_ready(timeout=60)
        return self.portfolio

    def positions(self) -> dict[str, Any]:
        reply = self.portfolio.get("/positions")
        assert reply.status == 200, reply.body
        return reply.json

    def position(self) -> dict[str, Any]:
        return next(p for p in self.positions()["positions"] if p["pair"] == SYMBOL)

    def status(self) -> dict[str, Any]:
        section: dict[str, Any] = self.portfolio.get("/healthz").json["portfolio"]
        return section

    def wait_fills(self, count: int, timeout: float = 20) -> dict[str, Any]:
        """Wait until portfolio has applied `count` fills and its feed is in sync; its positions then."""

        def applied() -> dict[str, Any] | None:
            ready = self.portfolio.get("/readyz").status == 200
            view = self.positions()
            return view if ready and view["fills"] == count else None

        return wait_until(applied, timeout=timeout, what=f"portfolio to have applied {count} fill(s)")

    def metric(self, name: str) -> float | None:
        for line in self.portfolio.get("/metrics").body.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    # -- orders and the simulator ------------------------------------------------------------------

    def touch(self) -> tuple[Decimal, Decimal]:
        market = self.sim.market()[PAIR]
        return D(market["bid"]), D(market["ask"])

    def trade(self, side: str, volume: str = "0.01") -> dict[str, Any]:
        """A marketable limit order through the gateway (priced through the touch, so it fills now); the
        simulator's record of it once it is closed."""
        bid, ask = self.touch()
        price = ask + 50 if side == "buy" else bid - 50
        cl_ord_id = f"pf-{secrets.token_hex(6)}"
        params = {
            "pair": "XBTUSD",
            "type": side,
            "ordertype": "limit",
            "price": str(price),
            "volume": volume,
            "cl_ord_id": cl_ord_id,
        }
        reply = self.stack.private("AddOrder", params)
        assert reply.status == 200 and reply.json["error"] == [], reply.body
        txid = reply.json["result"]["txid"][0]

        def closed() -> dict[str, Any] | None:
            # Through the gateway too: signing with the key here would mix nonce scales with auth's.
            found = self.stack.private("QueryOrders", {"txid": txid, "trades": True})
            order = found.json["result"][txid]
            return order if order["status"] == "closed" else None

        order: dict[str, Any] = wait_until(closed, timeout=10, what=f"order {cl_ord_id} to fill")
        # The order's `cost` is rounded to the pair's cost decimals; its fills' price x vol is exact.
        fills = self.stack.private("QueryTrades", {"txid": ",".join(order["trades"])})
        assert fills.status == 200 and fills.json["error"] == [], fills.body
        order["exact_cost"] = sum((D(f["price"]) * D(f["vol"]) for f in fills.json["result"].values()), D(0))
        return order

    def stored_fills(self) -> list[dict[str, Any]]:
        reply = request(self.stack.storage.url("/v1/fills?limit=1000"))
        assert reply.status == 200, reply.body
        fills: list[dict[str, Any]] = reply.json["fills"]
        return fills


def start_portfolio_bot(components: ComponentRunner, tmp_path: Path) -> PortfolioBot:
    stack = start_stack(components, tmp_path)
    try:
        market_data = start_market_data(components, tmp_path, stack.sim, [PAIR])
        config = write_config(
            tmp_path / "portfolio.json",
            {
                "trading": {"pairs": [PAIR]},
                "endpoints": {
                    "exchange_ws": stack.sim.url_ws,
                    "auth": stack.auth.url(""),
                    "storage": stack.storage.url(""),
                    "market_data": f"ws://127.0.0.1:{market_data.port}/stream",
                },
            },
        )
        bot = PortfolioBot(stack, market_data, None, config)  # type: ignore[arg-type]
        bot.start_portfolio()
    except BaseException:
        stack.sim.stop()
        raise
    return bot


def dump(bot: PortfolioBot) -> str:
    return json.dumps(bot.portfolio.get("/healthz").body, indent=1, default=str)[:6000]
