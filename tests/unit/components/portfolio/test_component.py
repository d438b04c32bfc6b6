"""The portfolio process as built from its factory: its route, steps, health entries and status before
anything has started."""

from __future__ import annotations

import json

from aiohttp.test_utils import make_mocked_request

from tests.unit.components.portfolio.fakes import execution, fill, frame
from tradingbot_components.app import Options, build_app
from tradingbot_components.portfolio.component import PortfolioService
from tradingbot_components.portfolio.positions import PositionBook
from tradingbot_components.runtime import HealthStatus


async def test_the_factory_wires_routes_steps_and_health() -> None:
    app = build_app(Options("portfolio", host="127.0.0.1", port=0), environ={})
    steps = set(app.sequence.status())
    assert {"clients", "rebuild", "market-stream", "executions-feed"} <= steps
    components = app.monitor.components()
    assert {name: view.critical for name, view in components.items() if name != "config"} == {
        "positions": True,
        "storage": True,
        "executions-feed": True,
        "valuation": False,  # a missing quote never makes portfolio unready
    }
    paths = {route.resource.canonical for route in app.http.app.router.routes() if route.resource}
    assert "/positions" in paths

    service = await app.container.resolve(PortfolioService)
    reply = await service.positions(make_mocked_request("GET", "/positions"))
    assert reply.status == 503
    assert json.loads(reply.text)["message"] == "positions are not rebuilt from storage yet"  # type: ignore[arg-type]
    assert service.status() == {"rebuilt": False}
    assert (await service.check_feed()).message == "not started"


async def test_a_full_replay_that_misses_every_applied_fill_is_reported_as_a_possible_gap() -> None:
    app = build_app(Options("portfolio", host="127.0.0.1", port=0), environ={})
    service = await app.container.resolve(PortfolioService)
    service.book = PositionBook.replay([fill("T-old", "buy", "1", "100")])
    service.rebuilt_from = 1

    def snapshot(ids: list[str]) -> dict[str, object]:
        return frame(
            *(
                execution(i, timestamp=f"2026-05-01T12:{n // 60:02d}:{n % 60:02d}Z")
                for n, i in enumerate(ids)
            ),
            kind="snapshot",
        )

    service.on_executions(snapshot([f"T{n}" for n in range(49)]))  # not full: the whole recent history
    service.on_executions(snapshot(["T-old", *(f"T{n}" for n in range(49))]))  # reaches back to what we had
    assert service.possible_gap is None
    service.on_executions(snapshot([f"T{n}" for n in range(50)]))
    assert service.possible_gap is not None and "fills before it may be missing" in service.possible_gap
    positions = app.monitor.components()["positions"]
    assert positions.status is HealthStatus.DEGRADED and "may be missing" in str(positions.message)
