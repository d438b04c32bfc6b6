"""Graceful stop on SIGTERM, in a real process: steps stop in reverse order and the exit code is 0."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.support.waiting import async_wait_until
from tradingbot_components.runtime import StartupSequence, install_signal_handlers

APP = Path(__file__).with_name("sigterm_app.py")


async def test_sigterm_stops_the_steps_in_reverse_order_and_exits_zero() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(APP), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        ready = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert ready == b"ready\n"

        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["stopped: trader,market-data,gateway,auth,storage"]


async def test_install_signal_handlers_delivers_the_signal_and_can_be_removed() -> None:
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []
    remove = install_signal_handlers(loop, received.append, [signal.SIGUSR1])
    try:
        signal.raise_signal(signal.SIGUSR1)

        async def delivered() -> bool:
            return received == [signal.SIGUSR1]

        await async_wait_until(delivered, timeout=5, what="SIGUSR1 to reach the handler")
    finally:
        remove()
    # Removed: the loop no longer handles SIGUSR1, and the handler in place before is back.
    assert not loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


async def test_install_signal_handlers_runs_an_async_callback_as_a_task() -> None:
    sequence = StartupSequence(backoff_base=0)
    stopped: list[str] = []

    async def stop_storage() -> None:
        stopped.append("storage")

    sequence.register_step("storage", "Infrastructure", lambda: None, shutdown=stop_storage)
    await sequence.start()
    loop = asyncio.get_running_loop()
    remove = install_signal_handlers(loop, lambda _sig: sequence.shutdown(1.0), [signal.SIGUSR2])
    try:
        signal.raise_signal(signal.SIGUSR2)

        async def stopped_storage() -> bool:
            return stopped == ["storage"]

        await async_wait_until(stopped_storage, timeout=5, what="the shutdown triggered by SIGUSR2")
    finally:
        remove()
