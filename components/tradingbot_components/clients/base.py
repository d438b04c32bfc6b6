"""An HTTP JSON client of one sibling component (storage, balance-manager, portfolio, auth): one aiohttp
session, answers as parsed JSON, failures as `ServiceUnavailable` / `ServiceRejected` naming the URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import aiohttp

from tradingbot_components.kraken.transport import SessionOwner


class ServiceUnavailable(RuntimeError):
    """The component could not be reached, or answered 5xx: try again later. `before_sending` is True when
    no connection was made, so the request certainly had no effect."""

    def __init__(self, message: str, *, before_sending: bool = False) -> None:
        super().__init__(message)
        self.before_sending = before_sending


class ServiceRejected(ValueError):
    """The component refused the request itself (4xx); sending it again will not help."""

    def __init__(self, message: str, status: int, body: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class JsonService(SessionOwner):
    """`await client.call("GET", "/v1/orders")` → the JSON body of a 2xx answer."""

    service = "component"

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        super().__init__(timeout=aiohttp.ClientTimeout(total=timeout))
        self.base_url = base_url.rstrip("/")

    async def call(
        self, verb: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> Any:
        status, document = await self.exchange(verb, path, body, params=params)
        if status >= 400:
            self.fail(f"{verb} {path}", status, document)
        return document

    def fail(self, what: str, status: int, document: Any) -> NoReturn:
        """Raise for an unwanted answer: `ServiceUnavailable` for 5xx, `ServiceRejected` otherwise."""
        if status >= 500:
            raise ServiceUnavailable(
                f"{self.service} at {self.base_url} answered {what} with HTTP {status}: {_message(document)}"
            )
        raise ServiceRejected(
            f"{self.service} refused {what} (HTTP {status}): {_message(document)}", status, document
        )

    async def exchange(
        self, verb: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """`(status, parsed body)` whatever the status; raises `ServiceUnavailable` when unreachable."""
        status, document, _headers = await self.request(verb, path, body, params=params)
        return status, document

    async def request(
        self, verb: str, path: str, body: Any = None, *, params: dict[str, str] | None = None
    ) -> tuple[int, Any, Mapping[str, str]]:
        """`(status, parsed body, headers)`; raises `ServiceUnavailable` when unreachable."""
        await self.start()
        url = f"{self.base_url}{path}"
        try:
            async with self.session.request(verb, url, json=body, params=params) as response:
                text = await response.text()
                status = response.status
                headers = dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServiceUnavailable(
                f"{self.service} at {self.base_url} is unreachable: {type(exc).__name__}: {exc}",
                before_sending=isinstance(exc, aiohttp.ClientConnectorError),
            ) from None
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = text
        return status, document, headers

    async def ready(self) -> tuple[bool, str | None]:
        """Whether `GET /readyz` answers 200, and why not."""
        try:
            status, document = await self.exchange("GET", "/readyz")
        except ServiceUnavailable as exc:
            return False, str(exc)
        if status == 200:
            return True, None
        return False, f"{self.service} at {self.base_url} is not ready (HTTP {status}): {_reasons(document)}"


def _message(document: Any) -> str:
    if isinstance(document, dict):
        errors = document.get("error")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
        return str(document.get("message") or document.get("error") or document)
    return str(document)[:200]


def _reasons(document: Any) -> str:
    reasons = document.get("reasons") if isinstance(document, dict) else None
    if isinstance(reasons, list) and reasons:
        return "; ".join(str(r.get("message") if isinstance(r, dict) else r) for r in reasons)
    return _message(document)
