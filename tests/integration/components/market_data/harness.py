"""Start market-data against a running simulator and read its state: `/healthz` per pair, `/metrics`,
and `/stream` messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.sim import SimHandle
from tests.support.waiting import wait_until


def start_market_data(
    components: ComponentRunner, tmp_path: Path, sim: SimHandle, pairs: list[str]
) -> ComponentProcess:
    config = tmp_path / "market-data.json"
    config.write_text(
        json.dumps(
            {
                "trading": {"pairs": pairs},
                "endpoints": {"exchange_ws": sim.url_ws, "exchange_rest": sim.url_rest},
            }
        )
    )
    process = components.start("market-data", "--config", str(config))
    process.wait_ready(timeout=30)
    return process


def market_data(process: ComponentProcess) -> dict[str, Any]:
    section: dict[str, Any] = process.get("/healthz").json["market_data"]
    return section


def metric(process: ComponentProcess, sample: str) -> float | None:
    """The value of one exposition line starting with `sample` (name plus labels), if present."""
    text = process.get("/metrics").body
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_books_advance(process: ComponentProcess, timeout: float = 20) -> dict[str, Any]:
    """Wait until every pair is in sync and has applied more verified updates than now."""
    before = {pair: state["updates"] for pair, state in market_data(process)["pairs"].items()}

    def advanced() -> dict[str, Any] | None:
        state = market_data(process)
        pairs = state["pairs"]
        ok = all(p["book"] == "in_sync" and p["updates"] > before[name] for name, p in pairs.items())
        return state if ok and state["ready"] else None

    return wait_until(advanced, timeout=timeout, what="every book in sync with fresh verified updates")


class StreamReader:
    """A `/stream` subscriber that collects every message it receives into `messages`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messages: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None

    async def open(self, request: dict[str, Any]) -> None:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(self.url)
        await self._ws.send_json(request)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))

    def of(self, kind: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [
            m for m in self.messages if m["type"] == kind and (channel is None or m.get("channel") == channel)
        ]

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()
