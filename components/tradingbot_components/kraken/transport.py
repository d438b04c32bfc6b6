"""Kraken REST over HTTP: one request out, one `ExchangeReply` back, never an exception for the exchange's
own failures. Whether to retry, trip or give up is decided elsewhere from the reply.

A reply records what is known about the request's fate: `CONNECT` means it never left this process (safe to
send again), `TIMEOUT`, `DISCONNECTED`, `HTTP` and `BAD_BODY` mean the exchange may have acted on it.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

USER_AGENT = "tradingbot-gateway/0.1 (+https://tradingbot.dev)"  # Kraken requires a User-Agent


class TransportFailure(enum.StrEnum):
    CONNECT = "connect"  # no connection: the request was not sent
    TIMEOUT = "timeout"  # sent, no answer in time: outcome unknown
    DISCONNECTED = "disconnected"  # the connection broke mid-request: outcome unknown
    HTTP = "http"  # a non-2xx answer without a Kraken envelope (e.g. Cloudflare's 520)
    BAD_BODY = "bad_body"  # a 2xx answer that is not a Kraken envelope


@dataclass(frozen=True, slots=True)
class ExchangeReply:
    """What came back for one request; `envelope` is Kraken's `{"error": [...], "result": ...}` when readable."""

    method: str
    http_status: int | None
    envelope: dict[str, Any] | None
    failure: TransportFailure | None
    detail: str = ""
    duration: float = 0.0
    errors: tuple[str, ...] = field(default=())

    @property
    def answered(self) -> bool:
        """Kraken (not the network) produced this answer."""
        return self.envelope is not None

    @property
    def no_answer(self) -> bool:
        """Nothing usable came back (for the breaker, the same as a timeout)."""
        return self.failure is not None and self.failure is not TransportFailure.HTTP


def parse_reply(method: str, status: int, text: str, duration: float = 0.0) -> ExchangeReply:
    """Read an HTTP answer: a Kraken envelope whatever the status, else an `HTTP`/`BAD_BODY` failure."""
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("error"), list):
        errors = tuple(str(error) for error in document["error"])
        return ExchangeReply(method, status, document, None, duration=duration, errors=errors)
    failure = TransportFailure.BAD_BODY if 200 <= status < 300 else TransportFailure.HTTP
    snippet = " ".join(text.split())[:120]
    return ExchangeReply(method, status, None, failure, f"HTTP {status}: {snippet or 'empty body'}", duration)


class SessionOwner:
    """Owns one aiohttp session from `start()` to `close()` (the HTTP clients of auth and gateway)."""

    def __init__(self, **session_options: Any) -> None:
        self._session_options = session_options
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(**self._session_options)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not called")
        return self._session


class KrakenTransport(SessionOwner):
    """An aiohttp session against one Kraken REST base URL (`https://api.kraken.com` or the simulator)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, user_agent: str = USER_AGENT) -> None:
        super().__init__(headers={"User-Agent": user_agent})
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def public(self, method: str, query: str = "") -> ExchangeReply:
        """GET `/0/public/<method>?<query>`; `query` is sent exactly as given (already URL-encoded)."""
        url = URL(f"{self.base_url}/0/public/{method}" + (f"?{query}" if query else ""), encoded=True)
        return await self._send(method, "GET", url, None, {})

    async def private(self, method: str, body: str, headers: Mapping[str, str]) -> ExchangeReply:
        """POST a signed body to `/0/private/<method>` with its `API-Key`/`API-Sign` headers."""
        return await self._send(method, "POST", URL(f"{self.base_url}/0/private/{method}"), body, headers)

    async def _send(
        self, method: str, verb: str, url: URL, body: str | None, headers: Mapping[str, str]
    ) -> ExchangeReply:
        session = self.session
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with session.request(
                verb, url, data=body, headers=dict(headers), timeout=timeout
            ) as response:
                text = await response.text()
                return parse_reply(method, response.status, text, time.monotonic() - started)
        except aiohttp.ClientConnectorError as exc:
            return self._failed(method, TransportFailure.CONNECT, f"cannot connect: {exc}", started)
        except TimeoutError:
            detail = f"no answer within {self.timeout:g}s"
            return self._failed(method, TransportFailure.TIMEOUT, detail, started)
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            return self._failed(method, TransportFailure.DISCONNECTED, detail, started)

    @staticmethod
    def _failed(method: str, failure: TransportFailure, detail: str, started: float) -> ExchangeReply:
        return ExchangeReply(method, None, None, failure, detail, time.monotonic() - started)
