"""The nonce high-water mark of one key, kept by the storage component (`/v1/nonce/{key_id}`).

Storage only ever raises a mark (it stores the maximum), so a slow or repeated write cannot move it back.
"""

from __future__ import annotations

import aiohttp

from tradingbot_components.kraken.transport import SessionOwner


class NonceStoreError(RuntimeError):
    """Storage could not read or raise the mark; the message says where and why."""


class NonceMarkStore(SessionOwner):
    """Reads and raises the mark of `key_id` at `base_url` (the storage component)."""

    def __init__(self, base_url: str, key_id: str, *, timeout: float = 5.0) -> None:
        super().__init__(timeout=aiohttp.ClientTimeout(total=timeout))
        self.url = f"{base_url.rstrip('/')}/v1/nonce/{key_id}"

    async def load(self) -> int:
        """The stored mark (0 for a key never used)."""
        return await self._call("GET", None)

    async def raise_to(self, mark: int) -> int:
        """Make `mark` durable; returns the stored mark, which is at least `mark`."""
        return await self._call("POST", {"high_water": mark})

    async def _call(self, verb: str, body: dict[str, int] | None) -> int:
        session = self.session
        try:
            async with session.request(verb, self.url, json=body) as response:
                document = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise NonceStoreError(
                f"storage at {self.url} is unreachable: {type(exc).__name__}: {exc}"
            ) from None
        if status != 200 or not isinstance(document, dict) or not isinstance(document.get("high_water"), int):
            message = document.get("message") if isinstance(document, dict) else document
            raise NonceStoreError(f"storage answered {verb} {self.url} with HTTP {status}: {message}")
        return int(document["high_water"])
