"""The auth component's internal HTTP API, for the gateway and the WebSocket clients of the same bot.

    POST /v1/sign      {"path": "/0/private/AddOrder", "params": {...}, "body_format": "form"|"json"}
                       -> 200 {"headers": {"API-Key", "API-Sign", "Content-Type"}, "body": "...", "nonce": n}
    GET  /v1/ws-token  -> 200 {"token": "...", "expires_at": unix, "expires_in": seconds}
    GET  /v1/key       -> 200 {"key_id": "key-..."} (a hash, never the key)

Errors are JSON `{"error": Reason, "message": ...}`: 400 BadRequest (params that cannot be encoded; no nonce
is spent), 503 NotReady (mark not loaded, claim not held, storage unreachable for a nonce reservation),
502 ExchangeRejected (`errors` holds Kraken's strings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from tradingbot_components.auth.nonce_marks import NonceStoreError
from tradingbot_components.auth.signer import Signer, SignerNotReady
from tradingbot_components.auth.ws_token import TokenUnavailable, WsTokenProvider
from tradingbot_components.config.changes import field_errors
from tradingbot_components.kraken.signing import BodyFormat

PrivatePath = Annotated[str, StringConstraints(pattern=r"^/0/private/[A-Za-z]{1,64}$")]


class SignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: PrivatePath
    params: dict[str, Any] = {}
    body_format: Literal["form", "json"] = "form"

    @property
    def format(self) -> BodyFormat:
        return BodyFormat.JSON if self.body_format == "json" else BodyFormat.FORM


def _error(status: int, reason: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": reason, "message": message, **extra}, status=status)


class AuthApi:
    """Handlers over the signer and token provider, which exist once their startup steps ran."""

    def __init__(
        self, signer: Callable[[], Signer | None], tokens: Callable[[], WsTokenProvider | None]
    ) -> None:
        self._signer = signer
        self._tokens = tokens

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/v1/sign", self.sign)
        app.router.add_get("/v1/ws-token", self.ws_token)
        app.router.add_get("/v1/key", self.key)

    async def sign(self, request: web.Request) -> web.Response:
        signer = self._signer()
        if signer is None:
            return _error(503, "NotReady", "auth is starting: credentials or nonce mark not loaded yet")
        try:
            body = SignRequest.model_validate(await request.json())
        except ValueError as exc:
            errors = [e.to_dict() for e in field_errors(exc)] if isinstance(exc, ValidationError) else []
            return _error(400, "BadRequest", "expected JSON {path, params, body_format}", errors=errors)
        try:
            signed = await signer.sign(body.path, body.params, body.format)
        except SignerNotReady as exc:
            return _error(503, "NotReady", f"signing refused: {exc}")
        except NonceStoreError as exc:
            return _error(503, "NotReady", f"no nonce could be reserved: {exc}")
        except (TypeError, ValueError) as exc:
            return _error(400, "BadRequest", str(exc))
        return web.json_response(
            {"headers": dict(signed.headers), "body": signed.body, "nonce": signed.nonce}
        )

    async def ws_token(self, request: web.Request) -> web.Response:
        tokens = self._tokens()
        if tokens is None:
            return _error(503, "NotReady", "auth is starting: the exchange session is not open yet")
        try:
            token = await tokens.get()
        except (SignerNotReady, NonceStoreError) as exc:
            return _error(503, "NotReady", f"cannot sign the token request: {exc}")
        except TokenUnavailable as exc:
            return _error(502, "ExchangeRejected", str(exc), errors=list(exc.errors))
        remaining = round(token.expires_at - time.time(), 3)
        return web.json_response(
            {"token": token.token, "expires_at": token.expires_at, "expires_in": remaining}
        )

    async def key(self, request: web.Request) -> web.Response:
        signer = self._signer()
        if signer is None:
            return _error(503, "NotReady", "credentials are not loaded yet")
        return web.json_response({"key_id": signer.credentials.key_id})
