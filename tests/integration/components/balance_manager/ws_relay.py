"""A WebSocket relay on 127.0.0.1 between a component and the simulator's `/v2`, run on its own thread, that
can lose `balances` updates without the client noticing (later sequence numbers are renumbered, so there
is no gap to detect: the drift only REST can reveal) or refuse every connection (the feed is down).

Frames are passed through as text; only the `sequence` of renumbered frames is rewritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

_SEQUENCE = re.compile(r'"sequence":(\d+)')


class WsRelay:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""
        self.lost_refs: set[str] = set()  # the ledger `ref_id`s (trade ids) of the updates lost
        self.connections = 0
        self._losing = False
        self._blocked = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._clients: set[ServerConnection] = set()
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="ws-relay", daemon=True)

    def start(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the WS relay did not start")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(10)

    def lose_balances_updates(self, losing: bool = True) -> None:
        """While losing, drop every `balances` update (and note its rows' `ref_id`s); the ones passed on
        after that are renumbered."""
        self._call(lambda: setattr(self, "_losing", losing))

    def block(self, blocked: bool = True) -> None:
        """While blocked, cut every open connection and refuse new ones (HTTP 503 at the handshake)."""

        def apply() -> None:
            self._blocked = blocked
            if blocked:
                for client in list(self._clients):
                    client.transport.abort()

        self._call(apply)

    def _call(self, action: Any) -> None:
        assert self._loop is not None
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with serve(self._relay, "127.0.0.1", 0, process_request=self._gate) as server:
            self._server = server
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/v2"
            self._ready.set()
            await self._stopped.wait()
            for client in list(self._clients):
                client.transport.abort()

    def _gate(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._blocked:
            return connection.respond(503, "blocked by the test relay\n")
        return None

    async def _relay(self, client: ServerConnection) -> None:
        self.connections += 1
        self._clients.add(client)
        offset = 0
        try:
            async with connect(self.upstream) as upstream:

                async def down() -> None:
                    nonlocal offset
                    async for raw in upstream:
                        text = raw if isinstance(raw, str) else raw.decode()
                        if '"channel":"balances"' in text:
                            if self._losing and '"type":"update"' in text:
                                self.lost_refs |= {str(row.get("ref_id")) for row in json.loads(text)["data"]}
                                offset += 1
                                continue
                            if offset:
                                text = _renumber(text, offset)
                        await client.send(text)

                async def up() -> None:
                    async for raw in client:
                        await upstream.send(raw)

                tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
                with contextlib.suppress(ConnectionClosed):
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                        await task
        except (OSError, ConnectionClosed):
            pass
        finally:
            self._clients.discard(client)
            client.transport.abort()


def _renumber(text: str, offset: int) -> str:
    return _SEQUENCE.sub(lambda m: f'"sequence":{int(m.group(1)) - offset}', text)
