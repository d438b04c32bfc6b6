"""A small WS v2 test client: read frames (numbers as exact Decimals) until one matches, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp

from tradingbot_components.kraken.book import loads_exact

Frame = dict[str, Any]


async def next_frame(
    ws: aiohttp.ClientWebSocketResponse, match: Callable[[Frame], bool], *, timeout: float = 10.0
) -> Frame:
    """The next frame `match` accepts; frames before it are dropped. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching WS frame within {timeout}s")
        message = await ws.receive(timeout=left)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"connection ended: {message.type} {message.data!r}")
        frame = loads_exact(message.data)
        if match(frame):
            return frame


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, done: Callable[[list[Frame]], bool], *, timeout: float = 10.0
) -> list[Frame]:
    """Frames read until `done(frames)` holds."""
    frames: list[Frame] = []
    deadline = time.monotonic() + timeout
    while not done(frames):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not met within {timeout}s after {len(frames)} frames")
        message = await ws.receive(timeout=left)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"connection ended: {message.type} {message.data!r}")
        frames.append(loads_exact(message.data))
    return frames


def channel(name: str, kind: str | None = None) -> Callable[[Frame], bool]:
    return lambda f: f.get("channel") == name and (kind is None or f.get("type") == kind)


def method(name: str, req_id: int | None = None) -> Callable[[Frame], bool]:
    return lambda f: f.get("method") == name and (req_id is None or f.get("req_id") == req_id)
