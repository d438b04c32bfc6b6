"""The gateway as the other components call it: Kraken REST by method name, answers as `GatewayReply`.

The reply keeps what the caller needs to decide safely: Kraken's errors, whether the gateway refused before
sending (circuit open, auth down: nothing reached the exchange), and whether the outcome is unknown.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradingbot_components.clients.base import JsonService, ServiceUnavailable
from tradingbot_components.kraken.errors import ErrorKind, parse_error


@dataclass(frozen=True, slots=True)
class GatewayReply:
    method: str
    status: int | None  # HTTP status of the gateway's answer; None when the gateway was unreachable
    errors: tuple[str, ...] = ()
    result: Any = None
    detail: str = ""  # why there is no envelope
    waited: float = 0.0  # seconds the gateway held the call for its turn and rate capacity

    @property
    def ok(self) -> bool:
        return self.status == 200 and not [e for e in self.errors if not e.startswith("W")]

    connect_failed: bool = False  # the gateway could not even be connected to

    @property
    def not_sent(self) -> bool:
        """Certainly never reached the exchange: no connection to the gateway, or the gateway refused it
        itself (circuit open, auth down, a malformed request)."""
        if self.connect_failed:
            return True
        return self.status in (400, 503) and any(e.startswith("EGateway:") for e in self.errors)

    @property
    def uncertain(self) -> bool:
        """The exchange may have acted, without a usable answer: the gateway stopped answering mid-call,
        502/504 from the gateway, `EService:*` or `EGeneral:Internal error`."""
        if self.status is None:
            return not self.connect_failed
        if self.status in (502, 504):
            return True
        kinds = {parse_error(e).kind for e in self.errors}
        return bool(kinds & {ErrorKind.SERVICE, ErrorKind.UNKNOWN_OUTCOME})

    def describe(self) -> str:
        what = "; ".join(self.errors) or self.detail or f"HTTP {self.status}"
        return f"{self.method}: {what}"


class GatewayClient(JsonService):
    """HTTP client of `endpoints.gateway`."""

    service = "gateway"

    def __init__(self, base_url: str, *, timeout: float = 60.0) -> None:
        # Generous: the gateway makes callers wait for rate capacity instead of failing them.
        super().__init__(base_url, timeout=timeout)

    async def public(self, method: str, **params: str) -> GatewayReply:
        query = urllib.parse.urlencode(params)
        return await self._send("GET", f"/public/{method}" + (f"?{query}" if query else ""), None, method)

    async def private(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        pair: str | None = None,
        order_age: float | None = None,
    ) -> GatewayReply:
        hints = {}
        if pair:
            hints["pair"] = pair
        if order_age is not None:
            hints["order_age"] = f"{max(order_age, 0.0):.3f}"
        path = f"/private/{method}" + (f"?{urllib.parse.urlencode(hints)}" if hints else "")
        return await self._send("POST", path, dict(params or {}), method)

    async def _send(self, verb: str, path: str, body: Any, method: str) -> GatewayReply:
        try:
            status, document, headers = await self.request(verb, path, body)
        except ServiceUnavailable as exc:
            return GatewayReply(method, None, detail=str(exc), connect_failed=exc.before_sending)
        if not isinstance(document, dict):
            return GatewayReply(method, status, detail=f"not a Kraken envelope: {str(document)[:120]}")
        errors = document.get("error") or []
        try:
            waited = float(headers.get("X-Gateway-Wait", "0"))
        except ValueError:
            waited = 0.0
        return GatewayReply(
            method,
            status,
            tuple(str(e) for e in errors) if isinstance(errors, list) else (str(errors),),
            document.get("result"),
            waited=waited,
        )
