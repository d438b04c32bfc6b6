"""WebSocket tokens from the auth component (`GET /v1/ws-token`), for the private WS v2 channels."""

from __future__ import annotations

from tradingbot_components.clients.base import JsonService


class TokenClient(JsonService):
    """HTTP client of `endpoints.auth` for tokens only; auth keeps the key and refreshes the token."""

    service = "auth"

    async def token(self) -> str:
        document = await self.call("GET", "/v1/ws-token")
        token = document.get("token") if isinstance(document, dict) else None
        if not isinstance(token, str) or not token:
            raise ValueError(f"auth at {self.base_url} answered /v1/ws-token without a token")
        return token
