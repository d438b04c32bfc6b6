"""Market data's `books` recovery in a real process: a book whose resubscribe gets no snapshot (a proxy on
127.0.0.1 swallows it) stays out of sync, the `books` check turns Unhealthy, and its recovery handler
resubscribes the book, which is then in sync again. Without the handler the book would never come back."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tests.integration.components.market_data.harness import market_data, metric, wait_books_advance
from tests.integration.components.process import ComponentRunner
from tests.support.sim import SimHandle
from tests.support.waiting import wait_until


class SwallowingProxy:
    """Forwards WebSocket frames between market data and the simulator, dropping the next `swallow` book
    snapshots on the way back."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.swallow = 0
        self.swallowed = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._main(),), daemon=True
        )

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2"

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the proxy did not start"

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _session(self, client: ServerConnection) -> None:
        async with connect(self.upstream, max_size=2**22) as upstream:

            async def down() -> None:
                async for frame in upstream:
                    if self.swallow and _is_book_snapshot(frame):
                        self.swallow -= 1
                        self.swallowed += 1
                        continue
                    await client.send(frame)

            async def up() -> None:
                async for frame in client:
                    await upstream.send(frame)

            tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()


def _is_book_snapshot(frame: str | bytes) -> bool:
    try:
        message = json.loads(frame)
    except ValueError:
        return False
    return (
        isinstance(message, dict) and message.get("channel") == "book" and message.get("type") == "snapshot"
    )


@pytest.fixture
def proxy_factory() -> Iterator[Callable[[str], SwallowingProxy]]:
    started: list[SwallowingProxy] = []

    def factory(upstream: str) -> SwallowingProxy:
        proxy = SwallowingProxy(upstream)
        proxy.start()
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


def test_a_stalled_book_is_resynced_by_the_books_recovery(
    components: ComponentRunner,
    sim_factory: Callable[..., SimHandle],
    proxy_factory: Callable[[str], SwallowingProxy],
    tmp_path: Path,
) -> None:
    sim = sim_factory(pairs=["XBT/USD"])
    proxy = proxy_factory(sim.url_ws)
    config = tmp_path / "market-data.json"
    config.write_text(
        json.dumps(
            {
                "trading": {"pairs": ["XBT/USD"]},
                "endpoints": {"exchange_ws": proxy.url, "exchange_rest": sim.url_rest},
            }
        )
    )
    process = components.start(
        "market-data", "--config", str(config), env={"TRADINGBOT_MARKET_DATA_STALL_AFTER": "1"}
    )
    process.wait_ready(timeout=30)
    wait_books_advance(process)

    proxy.swallow = 1  # the snapshot of the checksum resync below never arrives
    sim.fault("corrupt_checksum", count=1)

    def stalled() -> dict[str, Any] | None:
        books = process.get("/healthz").json["health"]["components"]["books"]
        return books if books["own_status"] == "unhealthy" else None

    books = wait_until(stalled, timeout=20, what="the books check to report the stalled book")
    assert "XBT/USD" in books["message"]
    assert proxy.swallowed == 1

    def resynced() -> dict[str, Any] | None:
        state = market_data(process)
        return state if state["ready"] and state["connection"]["recovery_resyncs"] >= 1 else None

    state = wait_until(resynced, timeout=20, what="the recovery's resubscribe to bring the book back")
    assert state["connection"]["reconnects"] == 0  # resubscribing was enough
    assert state["pairs"]["XBT/USD"]["book"] == "in_sync"
    sample = 'tradingbot_recovery_attempts_total{component="books",outcome="ok"}'
    assert (metric(process, sample) or 0) >= 1
    assert any(e["message"] == "resyncing stalled book(s): BTC/USD" for e in process.logs())
    wait_until(
        lambda: process.get("/healthz").json["health"]["components"]["books"]["status"] == "healthy",
        timeout=5,
        what="the books check healthy again",
    )
    wait_books_advance(process)
