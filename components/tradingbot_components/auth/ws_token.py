"""WebSocket tokens for the private WS v2 channels, fetched by auth itself (it holds the key) and cached.

Kraken's `GetWebSocketsToken` returns a token to be used within 15 minutes (`expires: 900`); once a
connection with a private subscription uses it, it stays valid while that connection lives. A cached token
is handed out while at least half its validity remains (the official SDK's TTL x 0.5), so a consumer always
has minutes to connect with it. The request is signed and sent while no other signature is handed out
(`Signer.exclusive`), so none of the gateway's later nonces can overtake it. After a consumer asked, the provider keeps one fresh in the background for
as long as consumers keep asking; with no consumers it spends no rate-limit points. Every fetch reports its
outcome (`on_result`); a failed one is retried by auth's health monitor (`refresh`, the `ws-token`
recovery handler), not by the background loop, so one schedule decides when to try again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradingbot_components.auth.signer import Signer
from tradingbot_components.kraken.errors import ErrorKind, parse_error
from tradingbot_components.kraken.signing import BodyFormat
from tradingbot_components.kraken.transport import ExchangeReply, KrakenTransport
from tradingbot_components.runtime.backoff import backoff_delay

log = logging.getLogger(__name__)

METHOD = "GetWebSocketsToken"
DEFAULT_VALIDITY = 900.0  # seconds, when Kraken's answer does not say


class TokenUnavailable(RuntimeError):
    """No token could be fetched; `errors` holds Kraken's error strings when it answered."""

    def __init__(self, message: str, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class WsToken:
    token: str = field(repr=False)
    fetched_at: float
    validity: float

    @property
    def expires_at(self) -> float:
        return self.fetched_at + self.validity


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    fresh_fraction: float = 0.5  # hand out a cached token while this share of its validity remains
    keep_warm: float = 900.0  # keep refreshing for this long after the last request
    attempts: int = 3


def fresh_enough(token: WsToken | None, now: float, policy: TokenPolicy) -> bool:
    """Whether a cached token may be handed out at `now`. Pure."""
    return token is not None and token.expires_at - now >= token.validity * policy.fresh_fraction


def next_refresh(
    token: WsToken | None, last_requested: float | None, now: float, policy: TokenPolicy
) -> float | None:
    """Seconds until the background refresh should fetch again; None while nobody needs a token. Pure."""
    if last_requested is None or now - last_requested > policy.keep_warm:
        return None
    if token is None:
        return 0.0
    stale_at = token.expires_at - token.validity * policy.fresh_fraction
    return max(0.0, stale_at - now)


def parse_token(reply: ExchangeReply, now: float) -> WsToken:
    """The token in a successful answer; raises `TokenUnavailable` for anything else."""
    if reply.envelope is None:
        raise TokenUnavailable(f"{METHOD}: no answer from the exchange ({reply.detail})")
    if reply.errors:
        raise TokenUnavailable(f"{METHOD} was rejected: {', '.join(reply.errors)}", reply.errors)
    result = reply.envelope.get("result")
    token = result.get("token") if isinstance(result, dict) else None
    if not isinstance(token, str) or not token:
        raise TokenUnavailable(f"{METHOD} answer has no token")
    expires = result.get("expires", DEFAULT_VALIDITY) if isinstance(result, dict) else DEFAULT_VALIDITY
    validity = float(expires) if isinstance(expires, int | float) and expires > 0 else DEFAULT_VALIDITY
    return WsToken(token, now, validity)


def _retryable(reply: ExchangeReply) -> bool:
    """A token request is read-only: resend on anything transient, with a fresh nonce each time."""
    if reply.envelope is None:
        return True
    kinds = {parse_error(error).kind for error in reply.errors}
    return bool(kinds & {ErrorKind.NONCE, ErrorKind.SERVICE, ErrorKind.UNKNOWN_OUTCOME})


class WsTokenProvider:
    """`await get()` a token fresh enough to connect with; `run()` keeps one warm for active consumers."""

    def __init__(
        self,
        signer: Signer,
        transport: KrakenTransport,
        *,
        policy: TokenPolicy | None = None,
        clock: Callable[[], float] = time.time,
        on_result: Callable[[str | None], None] | None = None,
    ) -> None:
        self._signer = signer
        self._on_result = on_result or (lambda _error: None)
        self._transport = transport
        self.policy = policy or TokenPolicy()
        self._clock = clock
        self._token: WsToken | None = None
        self._last_requested: float | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.fetched = 0
        self.last_error: str | None = None

    async def get(self) -> WsToken:
        self._last_requested = self._clock()
        self._wake.set()
        if fresh_enough(self._token, self._clock(), self.policy):
            assert self._token is not None
            return self._token
        async with self._lock:  # one fetch for all concurrent askers
            if fresh_enough(self._token, self._clock(), self.policy):
                assert self._token is not None
                return self._token
            return await self._fetch()

    async def _fetch(self) -> WsToken:
        last: TokenUnavailable | None = None
        for attempt in range(1, self.policy.attempts + 1):
            async with self._signer.exclusive() as sign:
                signed = await sign(f"/0/private/{METHOD}", {}, BodyFormat.FORM)
                reply = await self._transport.private(METHOD, signed.body, signed.headers)
            try:
                token = parse_token(reply, self._clock())
            except TokenUnavailable as exc:
                last = exc
                if not _retryable(reply) or attempt == self.policy.attempts:
                    break
                await asyncio.sleep(backoff_delay(attempt, base=0.2, cap=2.0))
                continue
            self._token, self.last_error = token, None
            self.fetched += 1
            log.info("fetched a WebSocket token valid for %.0fs", token.validity)
            self._on_result(None)
            return token
        assert last is not None
        self.last_error = str(last)
        self._on_result(self.last_error)
        raise last

    async def refresh(self) -> None:
        """Fetch a token now unless a fresh one is cached (the recovery of a failed fetch); raises
        `TokenUnavailable` when the exchange still refuses."""
        async with self._lock:
            if not fresh_enough(self._token, self._clock(), self.policy):
                await self._fetch()
        self._wake.set()

    async def run(self) -> None:
        """Refresh in the background while consumers are active. After a failure it waits to be woken (by
        a consumer, or by `refresh` succeeding): retrying is the recovery handler's job."""
        while True:
            self._wake.clear()
            delay = next_refresh(self._token, self._last_requested, self._clock(), self.policy)
            if delay == 0.0:
                try:
                    async with self._lock:
                        if not fresh_enough(self._token, self._clock(), self.policy):
                            await self._fetch()
                except Exception as exc:
                    log.warning("background WebSocket token refresh failed: %s", exc)
                    delay = None
                else:
                    continue
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def status(self) -> dict[str, Any]:
        token, now = self._token, self._clock()
        return {
            "cached": token is not None,
            "expires_in": round(token.expires_at - now, 1) if token else None,
            "fetched": self.fetched,
            "last_error": self.last_error,
        }
