"""The exchange-sim component: a Kraken simulator on the component's own port — REST under `/0/`,
WebSocket v2 at `/v2`, the control plane under `/_sim/` — started in the Infrastructure phase and
healthy while its market keeps stepping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from tradingbot_components.app import ComponentApp
from tradingbot_components.exchange_sim.accounts import Credentials, load_credentials
from tradingbot_components.exchange_sim.control import ControlApi
from tradingbot_components.exchange_sim.engine import OrderEvent
from tradingbot_components.exchange_sim.rate_limits import Tier
from tradingbot_components.exchange_sim.rest import RestApi
from tradingbot_components.exchange_sim.settings import read_settings
from tradingbot_components.exchange_sim.simulator import Simulator
from tradingbot_components.exchange_sim.ws import WsHub
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

log = logging.getLogger(__name__)

STALL_STEPS = 20  # missed market steps before the simulator reports itself unhealthy


class ExchangeSimService:
    """Owns the simulator and its market loop for the life of the process."""

    def __init__(self, app: ComponentApp) -> None:
        self._app = app
        self.sim: Simulator | None = None
        self.hub = WsHub(lambda: self.sim)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = read_settings(self._app.environ)
        config = self._app.config.config
        credentials: list[Credentials] = []
        if self._app.options.credentials is not None:
            credentials.append(load_credentials(self._app.options.credentials))
        else:
            log.warning("no --credentials given: private endpoints will answer EAPI:Invalid key")
        sim = Simulator(
            pairs=config.trading.pairs,
            tier=Tier(config.rate_limiting.tier),
            settings=settings,
            credentials=credentials,
            now=time.time(),
        )
        sim.engine.listeners.append(self._count)
        self.hub.attach(sim)
        self.sim = sim
        self._task = asyncio.create_task(self._run(sim), name="exchange-sim-market")
        log.info("exchange simulator started", extra=sim.describe())

    def _count(self, event: Any) -> None:
        if (
            isinstance(event, OrderEvent)
            and self.sim is not None
            and event.exec_type in ("filled", "canceled", "expired")
        ):
            self.sim.stats.orders[event.exec_type] += 1

    async def _run(self, sim: Simulator) -> None:
        """Step the market every tick, and publish to WS clients after every step or engine change."""
        tick = sim.settings.tick_seconds
        next_step = time.time()
        while True:
            timeout = max(0.0, next_step - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hub.wake.wait(), timeout)
            self.hub.wake.clear()
            now = time.time()
            try:
                if now >= next_step:
                    sim.step(now)
                    next_step = now + tick
                self.hub.publish(now)
            except Exception:  # one bad step must not stop the market; health reports a stall
                log.exception("market step failed")
                next_step = now + tick

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self.hub.close_all()
        self.sim = None

    async def check(self) -> CheckResult:
        sim = self.sim
        if sim is None:
            return CheckResult(HealthStatus.UNHEALTHY, "the simulator is not running")
        task = self._task
        if task is None or task.done():
            error = task.exception() if task is not None and not task.cancelled() else None
            why = describe_error(error) if error else "stopped"
            return CheckResult(HealthStatus.UNHEALTHY, f"the market loop is not running: {why}")
        age = time.time() - sim.last_step
        if age > STALL_STEPS * sim.settings.tick_seconds + 1:
            return CheckResult(HealthStatus.UNHEALTHY, f"the market has not stepped for {age:.1f}s")
        return CheckResult(HealthStatus.HEALTHY, details=sim.describe())

    def status(self) -> dict[str, Any]:
        return {"running": False} if self.sim is None else {"running": True, **self.sim.describe()}


def build(app: ComponentApp) -> None:
    service = ExchangeSimService(app)
    app.container.register_instance(ExchangeSimService, service)
    RestApi(lambda: service.sim).add_to(app.http.app)
    app.http.app.router.add_get("/v2", service.hub.handle)
    ControlApi(lambda: service.sim, service.hub).add_to(app.http.app)
    app.sequence.register_step(
        "exchange-sim", Phase.INFRASTRUCTURE, service.start, timeout=30, shutdown=service.stop
    )
    app.monitor.register_check("exchange-sim", service.check, critical=True, timeout=5)
    app.add_status("exchange_sim", service.status)
