"""`tradingbot run CONFIG --dashboard`: the dashboard in the runner's own event loop; quitting it (or a
SIGINT/SIGTERM) stops the bot in reverse phase order."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tradingbot_operator.dashboard.app import Dashboard
from tradingbot_operator.dashboard.sources import RunnerSource


async def run_local_dashboard(session: Any) -> None:
    source = RunnerSource(session.runner)
    app = Dashboard(source)
    ui = asyncio.create_task(app.run_async(), name="dashboard")
    stop = asyncio.create_task(session.stop_requested.wait(), name="dashboard-stop")
    try:
        await asyncio.wait({ui, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not ui.done():
            app.exit()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ui, 10)
        stop.cancel()
        await source.telemetry.close()
