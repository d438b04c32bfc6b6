"""The auth component: the only holder of the API key pair. It claims the key (one live auth per key),
loads the nonce high-water mark from storage, then signs for the gateway and fetches WS tokens.

Ready = credentials loaded, the key's claim held, the nonce mark loaded (and nonces reservable). A failed
WebSocket token fetch turns the non-critical `ws-token` entry Unhealthy; its recovery fetches again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from tradingbot_components.app import ComponentApp
from tradingbot_components.auth.api import AuthApi
from tradingbot_components.auth.credentials import Credentials, load_credentials
from tradingbot_components.auth.holder import FileKeyHolder, KeyHolder, process_identity, runtime_dir
from tradingbot_components.auth.lease import KubeLeaseHolder
from tradingbot_components.auth.nonce_marks import NonceMarkStore
from tradingbot_components.auth.signer import Signer
from tradingbot_components.auth.ws_token import WsTokenProvider
from tradingbot_components.kraken.transport import KrakenTransport
from tradingbot_components.runtime import CheckResult, HealthStatus, Phase, RecoveryDeferred

log = logging.getLogger(__name__)

CLAIM_CHECK = "key-claim"
NONCE_CHECK = "nonce-mark"
TOKEN_CHECK = "ws-token"


def choose_holder(environ: Mapping[str, str], key_id: str) -> KeyHolder:
    """A Lease in Kubernetes (POD_NAMESPACE set), a lock file otherwise."""
    identity = process_identity(environ)
    namespace = environ.get("POD_NAMESPACE")
    if namespace:
        return KubeLeaseHolder(namespace, key_id, identity)
    return FileKeyHolder(runtime_dir(environ), key_id, identity)


class AuthService:
    """Owns the credentials, the key claim, the signer and the token provider for the process's life."""

    def __init__(self, app: ComponentApp) -> None:
        self._app = app
        self.credentials: Credentials | None = None
        self.holder: KeyHolder | None = None
        self.store: NonceMarkStore | None = None
        self.signer: Signer | None = None
        self.tokens: WsTokenProvider | None = None
        self._transport: KrakenTransport | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def in_kubernetes(self) -> bool:
        return bool(self._app.environ.get("POD_NAMESPACE"))

    def load_credentials(self) -> None:
        self.credentials = load_credentials(self._app.options.credentials)
        log.info("credentials loaded for API key %s", self.credentials.key_id)

    async def claim_key(self) -> None:
        assert self.credentials is not None
        if self.holder is None:
            self.holder = choose_holder(self._app.environ, self.credentials.key_id)
            self.holder.set_on_lost(self._claim_lost)
        await self.holder.acquire()

    async def release_key(self) -> None:
        if self.holder is not None:
            await self.holder.release()

    def _claim_lost(self, reason: str) -> None:
        self._app.monitor.update_component_status(CLAIM_CHECK, HealthStatus.UNHEALTHY, message=reason)

    async def load_nonce_mark(self) -> None:
        assert self.credentials is not None and self.holder is not None
        if self.store is None:
            endpoint = self._app.config.config.endpoints.storage
            self.store = NonceMarkStore(endpoint, self.credentials.key_id)
            await self.store.start()
            self.signer = Signer(
                self.credentials, self.store, self.holder, on_store_result=self._store_result
            )
        assert self.signer is not None
        await self.signer.load_mark()

    def _store_result(self, error: str | None) -> None:
        if error is None:
            self._app.monitor.update_component_status(NONCE_CHECK, HealthStatus.HEALTHY)
        else:
            message = f"cannot reserve nonces: {error}"
            self._app.monitor.update_component_status(NONCE_CHECK, HealthStatus.UNHEALTHY, message=message)

    async def close_store(self) -> None:
        if self.store is not None:
            await self.store.close()

    async def open_exchange(self) -> None:
        assert self.signer is not None
        self._transport = KrakenTransport(self._app.config.config.endpoints.exchange_rest)
        await self._transport.start()
        self.tokens = WsTokenProvider(self.signer, self._transport, on_result=self._token_result)
        self._refresher = asyncio.create_task(self.tokens.run(), name="ws-token-refresh")

    async def close_exchange(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._transport is not None:
            await self._transport.close()

    # -- health ------------------------------------------------------------------------------------

    def _token_result(self, error: str | None) -> None:
        if error is None:
            self._app.monitor.update_component_status(TOKEN_CHECK, HealthStatus.HEALTHY)
        else:
            message = f"WebSocket token unavailable: {error}"
            self._app.monitor.update_component_status(TOKEN_CHECK, HealthStatus.UNHEALTHY, message=message)

    async def refresh_token(self) -> None:
        """The recovery of `ws-token`: fetch a token again."""
        if self.tokens is None:
            raise RecoveryDeferred("the exchange session is not open", 1.0)
        await self.tokens.refresh()

    async def check_claim(self) -> CheckResult:
        if self.holder is None or not self.holder.held:
            return CheckResult(HealthStatus.UNHEALTHY, "the key's single-signer claim is not held")
        return CheckResult(HealthStatus.HEALTHY, details=self.holder.describe())

    async def check_nonce(self) -> CheckResult:
        signer = self.signer
        if signer is None or not signer.mark_loaded:
            return CheckResult(HealthStatus.UNHEALTHY, "nonce high-water mark not loaded from storage")
        await signer.recheck_store()
        if signer.last_store_error is not None:
            return CheckResult(HealthStatus.UNHEALTHY, f"cannot reserve nonces: {signer.last_store_error}")
        return CheckResult(HealthStatus.HEALTHY)

    def status(self) -> dict[str, Any]:
        return {
            "key_id": self.credentials.key_id if self.credentials else None,
            "claim": self.holder.describe() if self.holder else None,
            "nonce": self.signer.status() if self.signer else None,
            "ws_token": self.tokens.status() if self.tokens else None,
        }


def build(app: ComponentApp) -> None:
    service = AuthService(app)
    app.container.register_instance(AuthService, service)
    AuthApi(lambda: service.signer, lambda: service.tokens).add_to(app.http.app)
    auth = Phase.AUTH
    app.sequence.register_step("credentials", auth, service.load_credentials)
    # In Kubernetes a rolling update briefly overlaps two pods: wait out the old one's Lease.
    app.sequence.register_step(
        "key-claim",
        auth,
        service.claim_key,
        dependencies=("credentials",),
        retries=6 if service.in_kubernetes else 0,
        timeout=15,
        shutdown=service.release_key,
    )
    app.sequence.register_step(
        "nonce-mark",
        auth,
        service.load_nonce_mark,
        dependencies=("key-claim",),
        retries=5,
        timeout=10,
        shutdown=service.close_store,
    )
    app.sequence.register_step(
        "exchange-session", Phase.NETWORK, service.open_exchange, shutdown=service.close_exchange
    )
    app.monitor.register_check(CLAIM_CHECK, service.check_claim, critical=True)
    # Every few seconds, so readiness returns soon after storage does.
    app.monitor.register_check(NONCE_CHECK, service.check_nonce, critical=True, interval=5.0, timeout=5.0)
    # Not critical: signing works without a token; balance-manager, portfolio and trader need one to connect.
    app.monitor.register_component(TOKEN_CHECK, critical=False)
    app.monitor.register_recovery(
        TOKEN_CHECK, service.refresh_token, max_attempts=5, backoff_base=5.0, backoff_max=60.0
    )
    app.add_status("auth", service.status)
