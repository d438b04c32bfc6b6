"""The exchange-sim component process: the CLI, readiness and health, status without secrets, a clean
SIGTERM, and refusing to start with unusable credentials or settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.components.process import ComponentRunner
from tests.support.sim import SimHandle, http

Factory = Callable[..., SimHandle]


def test_ready_healthy_and_stops_cleanly(sim_factory: Factory) -> None:
    sim = sim_factory(tier="intermediate", pairs=("XBT/USD", "ETH/USD"))
    assert http(f"{sim.url_rest}/readyz").status == 200
    health = http(f"{sim.url_rest}/healthz").json
    assert health["health"]["components"]["exchange-sim"]["status"] == "healthy"
    status = health["exchange_sim"]
    assert status["running"] and status["tier"] == "intermediate" and status["seed"] == 7
    assert status["pairs"] == ["XETHZUSD", "XXBTZUSD"]
    assert sim.api_key not in json.dumps(health) and sim.api_secret not in json.dumps(health)
    assert sim.market()["XBT/USD"]["levels"] == [1000, 1000]
    assert sim.process.terminate() == 0


def test_the_same_seed_starts_the_same_market(sim_factory: Factory) -> None:
    first, second = sim_factory(seed=99, tick_seconds=60), sim_factory(seed=99, tick_seconds=60)
    bids = [
        [row[:2] for row in s.public("Depth", pair="XBTUSD", count=20)["result"]["XXBTZUSD"]["bids"]]
        for s in (first, second)
    ]
    assert bids[0] == bids[1]


def test_moving_the_market_fills_resting_orders(sim_factory: Factory) -> None:
    sim = sim_factory(tick_seconds=60)
    order = {"pair": "XBTUSD", "type": "sell", "ordertype": "limit", "price": "65000.0", "volume": "0.1"}
    (txid,) = sim.private("AddOrder", order)["result"]["txid"]
    moved = sim.move_market("XBT/USD", "65000.1")
    assert moved["traded"] > 0
    closed = sim.private("ClosedOrders")["result"]["closed"][txid]
    assert closed["status"] == "closed" and closed["price"] == "65000.0"


def test_bad_credentials_or_settings_fail_startup(tmp_path: Path) -> None:
    runner = ComponentRunner(tmp_path)
    try:
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "api-key").write_text("key")
        (credentials / "api-secret").write_text("not base64!")
        bad_secret = runner.start("exchange-sim", "--credentials", str(credentials))
        assert bad_secret.wait_exit() == 1
        assert "api-secret: not valid base64" in bad_secret.log_text()
        assert "not base64!" not in bad_secret.log_text()
        bad_seed = runner.start("exchange-sim", env={"TRADINGBOT_SIM_SEED": "soon"})
        assert bad_seed.wait_exit() == 1
        assert "TRADINGBOT_SIM_SEED: expected an integer" in bad_seed.log_text()
    finally:
        runner.cleanup()
