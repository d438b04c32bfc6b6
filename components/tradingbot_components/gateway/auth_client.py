"""The gateway's side of the auth component: ask for a signature, check that auth is there.

The gateway never sees the API secret; it posts `(path, params, body_format)` and gets back the exact body
and headers to send, with the next nonce of the key inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from tradingbot_components.kraken.signing import BodyFormat
from tradingbot_components.kraken.transport import SessionOwner


class AuthUnavailable(RuntimeError):
    """Auth could not sign now (unreachable, starting, storage down); nothing was sent to the exchange."""


class SigningRejected(ValueError):
    """Auth refused the params themselves (e.g. a float amount); sending again will not help."""


@dataclass(frozen=True, slots=True)
class Signature:
    body: str
    headers: Mapping[str, str]
    nonce: int


class AuthClient(SessionOwner):
    """HTTP client of `endpoints.auth`."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        super().__init__(timeout=aiohttp.ClientTimeout(total=timeout))
        self.base_url = base_url.rstrip("/")

    async def sign(self, method: str, params: Mapping[str, Any], body_format: BodyFormat) -> Signature:
        payload = {
            "path": f"/0/private/{method}",
            "params": dict(params),
            "body_format": "json" if body_format is BodyFormat.JSON else "form",
        }
        url = f"{self.base_url}/v1/sign"
        try:
            async with self.session.post(url, json=payload) as response:
                status = response.status
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise AuthUnavailable(
                f"auth at {self.base_url} is unreachable: {type(exc).__name__}: {exc}"
            ) from None
        message = document.get("message", document) if isinstance(document, dict) else document
        if status == 400:
            raise SigningRejected(f"auth refused the params: {message}")
        if status != 200 or not isinstance(document, dict):
            raise AuthUnavailable(f"auth at {self.base_url} cannot sign (HTTP {status}): {message}")
        return Signature(document["body"], document["headers"], int(document["nonce"]))

    async def readiness(self) -> tuple[int | None, Any, str | None]:
        """`(status, body, error)` of `GET /readyz`; `error` is set when auth could not be reached."""
        try:
            async with self.session.get(f"{self.base_url}/readyz") as response:
                return response.status, await response.json(content_type=None), None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return None, None, f"{type(exc).__name__}: {exc}"
