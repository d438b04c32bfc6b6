"""Signing private Kraken requests with the one nonce sequencer of the key.

Nonces are Unix milliseconds from a `NonceSequencer` seeded with the high-water mark read from storage; the
sequencer reserves a minute ahead and persists each reservation before using it, so a restarted auth starts
above every nonce the previous one could have issued. Until the mark is loaded (and while the key claim is
not held) signing is refused: a guessed nonce could go backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from tradingbot_components.auth.credentials import Credentials
from tradingbot_components.auth.holder import KeyHolder
from tradingbot_components.auth.nonce_marks import NonceMarkStore, NonceStoreError
from tradingbot_components.kraken.nonce import NonceSequencer
from tradingbot_components.kraken.signing import BodyFormat, SignedRequest, encode_body, sign_request

log = logging.getLogger(__name__)

PRIVATE_PREFIX = "/0/private/"
Signing = Callable[[str, Mapping[str, object], BodyFormat], Awaitable[SignedRequest]]


class SignerNotReady(RuntimeError):
    """Signing is refused for now; the message lists why."""


def not_ready_reasons(*, credentials: bool, claim_held: bool, mark_loaded: bool) -> list[str]:
    """Why the signer may not sign yet; empty when it may. Pure."""
    reasons = []
    if not credentials:
        reasons.append("credentials are not loaded")
    if not claim_held:
        reasons.append("this process does not hold the key's single-signer claim")
    if not mark_loaded:
        reasons.append("the nonce high-water mark has not been loaded from storage")
    return reasons


class Signer:
    """Turns `(path, params)` into a signed body and headers with the next nonce of the key."""

    def __init__(
        self,
        credentials: Credentials,
        store: NonceMarkStore,
        holder: KeyHolder,
        *,
        block_seconds: float = 60.0,
        on_store_result: Callable[[str | None], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self._store = store
        self._holder = holder
        self._block_seconds = block_seconds
        self._sequencer: NonceSequencer | None = None
        self.loaded_mark: int | None = None
        self.signed = 0
        self.last_store_error: str | None = None
        self._on_store_result = on_store_result
        self._order = asyncio.Lock()

    @property
    def mark_loaded(self) -> bool:
        return self._sequencer is not None

    def reasons(self) -> list[str]:
        return not_ready_reasons(credentials=True, claim_held=self._holder.held, mark_loaded=self.mark_loaded)

    async def load_mark(self) -> int:
        """Read the stored mark and seed the sequencer above it; raises `NonceStoreError`."""
        mark = await self._store.load()
        self._sequencer = NonceSequencer(
            high_water=mark, block_seconds=self._block_seconds, persist=self._persist
        )
        self.loaded_mark = mark
        log.info(
            "nonce high-water mark of %s loaded: %d", self.credentials.key_id, mark, extra={"mark": mark}
        )
        return mark

    async def _persist(self, mark: int) -> None:
        try:
            stored = await self._store.raise_to(mark)
        except NonceStoreError as exc:
            self._store_result(str(exc))
            raise
        self._store_result(None)
        if stored > mark:
            # Only another signer of the same key could have put it there.
            log.error(
                "storage holds nonce mark %d above our reservation %d for %s: another signer uses this key",
                stored,
                mark,
                self.credentials.key_id,
            )

    async def recheck_store(self) -> None:
        """After a failed reservation: see whether storage answers again (the next sign retries the write)."""
        if self.last_store_error is None:
            return
        try:
            await self._store.load()
        except NonceStoreError as exc:
            self._store_result(str(exc))
        else:
            self._store_result(None)

    def _store_result(self, error: str | None) -> None:
        changed = error != self.last_store_error
        self.last_store_error = error
        if changed and self._on_store_result is not None:
            self._on_store_result(error)

    async def sign(
        self, path: str, params: Mapping[str, object], body_format: BodyFormat = BodyFormat.FORM
    ) -> SignedRequest:
        """Sign one request. Raises `SignerNotReady`, `NonceStoreError` (no nonce could be reserved), or
        `ValueError`/`TypeError` for params that cannot be encoded (checked before a nonce is spent)."""
        async with self._order:
            return await self._sign(path, params, body_format)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[Signing]:
        """For auth's own requests: sign and send while no other signature is handed out, so no later
        nonce can overtake ours on the way to Kraken. Hold it only for one request's round trip."""
        async with self._order:
            yield self._sign

    async def _sign(self, path: str, params: Mapping[str, object], body_format: BodyFormat) -> SignedRequest:
        if not path.startswith(PRIVATE_PREFIX):
            raise ValueError(f"path must start with {PRIVATE_PREFIX!r}, got {path!r}")
        reasons = self.reasons()
        if reasons or self._sequencer is None:
            raise SignerNotReady("; ".join(reasons))
        encode_body(params, 0, body_format)  # reject unencodable params before spending a nonce
        nonce = await self._sequencer.next_async()
        signed = sign_request(
            path,
            params,
            nonce=nonce,
            api_key=self.credentials.api_key,
            secret_b64=self.credentials.secret_b64,
            body_format=body_format,
        )
        self.signed += 1
        return signed

    def status(self) -> dict[str, Any]:
        sequencer = self._sequencer
        return {
            "key_id": self.credentials.key_id,
            "mark_loaded": self.mark_loaded,
            "loaded_mark": self.loaded_mark,
            "last_nonce": sequencer.last if sequencer else None,
            "reserved_until": sequencer.high_water if sequencer else None,
            "signed": self.signed,
            "last_store_error": self.last_store_error,
        }
