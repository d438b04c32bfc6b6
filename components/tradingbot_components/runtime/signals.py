"""SIGTERM/SIGINT for a component process: stop gracefully within the pod's termination grace period.

`install_signal_handlers` is the primitive; `run_until_signal` is the usual main loop around a
`StartupSequence`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

from tradingbot_components.runtime.invocation import call_hook
from tradingbot_components.runtime.startup import ShutdownReport, StartupSequence

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop,
    on_signal: Callable[[signal.Signals], Any],
    signals: Iterable[signal.Signals] = STOP_SIGNALS,
) -> Callable[[], None]:
    """Call `on_signal(sig)` on the loop when one of `signals` arrives; returns a function that removes them.

    `on_signal` may be a coroutine function: it then runs as a task on the loop.
    """
    tasks: set[asyncio.Task[Any]] = set()
    installed = list(signals)

    def deliver(sig: signal.Signals) -> None:
        log.info("received %s", sig.name)
        result = on_signal(sig)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result, loop=loop)
            tasks.add(task)  # keep a reference until it finishes
            task.add_done_callback(tasks.discard)

    for sig in installed:
        loop.add_signal_handler(sig, deliver, sig)

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


async def run_until_signal(
    sequence: StartupSequence,
    *,
    grace_period: float,
    on_started: Callable[[], Any] | None = None,
    signals: Iterable[signal.Signals] = STOP_SIGNALS,
) -> ShutdownReport:
    """Start `sequence`, wait for a stop signal, then shut it down within `grace_period` seconds.

    A signal during startup cancels it and stops what had come up. A failed startup raises
    `StartupFailed` (already rolled back).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    remove = install_signal_handlers(loop, lambda _sig: stop.set(), signals)
    starting = asyncio.ensure_future(sequence.start())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done() and not starting.cancelled():
            starting.result()  # raises StartupFailed
            if on_started is not None:
                await call_hook(on_started)
            await stopping
        return await sequence.shutdown(grace_period)
    finally:
        remove()
        stopping.cancel()
        if not starting.done():
            starting.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
