"""The single-holder claim in Kubernetes: a `coordination.k8s.io` Lease named after the key id.

`decide_lease` is a pure function of the Lease as read and the clock; `KubeLeaseHolder` reads, creates and
replaces the Lease (optimistic concurrency through resourceVersion) and renews it every third of its
duration. A holder that cannot renew before its Lease runs out reports the claim lost, so the auth stops
signing before another pod may take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tradingbot_components.auth.holder import HolderConflict, LostCallback
from tradingbot_components.config.kube import ClientFactory, api_client
from tradingbot_components.runtime.invocation import describe_error

# kubernetes_asyncio is imported where the API is called (as in config/kube.py): about a second of CPU at import.
if TYPE_CHECKING:
    from kubernetes_asyncio import client

log = logging.getLogger(__name__)

CoordinationFactory = Callable[["client.ApiClient"], Any]  # -> a CoordinationV1Api (or a test double)


def coordination_api(api: client.ApiClient) -> Any:
    from kubernetes_asyncio import client

    return client.CoordinationV1Api(api)


def lease_name(key_id: str) -> str:
    return f"tradingbot-auth-{key_id}"


@dataclass(frozen=True, slots=True)
class LeaseView:
    """The parts of a Lease the decision reads."""

    holder: str | None
    renew_time: datetime | None
    duration_seconds: int | None
    resource_version: str | None = None
    transitions: int = 0

    def expires_at(self) -> datetime | None:
        if self.renew_time is None or self.duration_seconds is None:
            return None
        return self.renew_time + timedelta(seconds=self.duration_seconds)


class LeaseMove(enum.StrEnum):
    CREATE = "create"  # no Lease yet
    RENEW = "renew"  # ours
    TAKE_OVER = "take_over"  # released, or its holder stopped renewing
    BLOCKED = "blocked"  # another live holder


@dataclass(frozen=True, slots=True)
class LeaseDecision:
    move: LeaseMove
    holder: str | None = None
    expires_at: datetime | None = None


def decide_lease(observed: LeaseView | None, me: str, now: datetime) -> LeaseDecision:
    """What to do with the Lease as read at `now` for identity `me`."""
    if observed is None:
        return LeaseDecision(LeaseMove.CREATE)
    if observed.holder == me:
        return LeaseDecision(LeaseMove.RENEW, me, observed.expires_at())
    expires = observed.expires_at()
    if not observed.holder or expires is None or expires <= now:
        return LeaseDecision(LeaseMove.TAKE_OVER, observed.holder, expires)
    return LeaseDecision(LeaseMove.BLOCKED, observed.holder, expires)


def micro_time(moment: datetime) -> str:
    """RFC 3339 with exactly six fractional digits, as the API server parses a MicroTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def view_of(lease: client.V1Lease) -> LeaseView:
    spec = lease.spec
    return LeaseView(
        holder=spec.holder_identity if spec else None,
        renew_time=spec.renew_time if spec else None,
        duration_seconds=spec.lease_duration_seconds if spec else None,
        resource_version=lease.metadata.resource_version if lease.metadata else None,
        transitions=(spec.lease_transitions or 0) if spec else 0,
    )


class KubeLeaseHolder:
    """Holds Lease `tradingbot-auth-<key id>` in `namespace` while the process runs."""

    def __init__(
        self,
        namespace: str,
        key_id: str,
        identity: str,
        *,
        duration: int = 15,
        factory: ClientFactory = api_client,
        coordination: CoordinationFactory = coordination_api,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_lost: LostCallback | None = None,
    ) -> None:
        self.namespace, self.name, self.key_id = namespace, lease_name(key_id), key_id
        self.identity = identity
        self.duration = duration
        self._factory = factory
        self._coordination = coordination
        self._now = now
        self._sleep = sleep
        self._on_lost = on_lost
        self._api_client: client.ApiClient | None = None
        self._held_until: datetime | None = None
        self._renewer: asyncio.Task[None] | None = None
        self.renewals = 0

    @property
    def held(self) -> bool:
        return self._held_until is not None and self._now() < self._held_until

    def set_on_lost(self, callback: LostCallback) -> None:
        self._on_lost = callback

    async def _api(self) -> Any:
        if self._api_client is None:
            self._api_client = await self._factory()
        return self._coordination(self._api_client)

    async def _read(self) -> LeaseView | None:
        from kubernetes_asyncio.client.exceptions import ApiException

        api = await self._api()
        try:
            return view_of(await api.read_namespaced_lease(self.name, self.namespace))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _body(self, observed: LeaseView | None, now: datetime, take_over: bool) -> dict[str, Any]:
        transitions = (observed.transitions if observed else 0) + (1 if take_over else 0)
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if observed is not None and observed.resource_version:
            metadata["resourceVersion"] = observed.resource_version
        spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "renewTime": micro_time(now),
            "leaseTransitions": transitions,
        }
        if observed is None or take_over:
            spec["acquireTime"] = micro_time(now)
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    async def _claim_once(self) -> LeaseDecision:
        """One read-decide-write round; raises ApiException 409 when someone wrote in between."""
        observed = await self._read()
        now = self._now()
        decision = decide_lease(observed, self.identity, now)
        if decision.move is LeaseMove.BLOCKED:
            return decision
        api = await self._api()
        body = self._body(observed, now, decision.move is LeaseMove.TAKE_OVER)
        if decision.move is LeaseMove.CREATE:
            await api.create_namespaced_lease(self.namespace, body)
        else:
            await api.replace_namespaced_lease(self.name, self.namespace, body)
        self._held_until = now + timedelta(seconds=self.duration)
        return decision

    async def _claim(self) -> LeaseDecision:
        from kubernetes_asyncio.client.exceptions import ApiException

        for _ in range(3):
            try:
                return await self._claim_once()
            except ApiException as exc:
                if exc.status != 409:
                    raise
        raise HolderConflict(
            f"Lease {self.namespace}/{self.name} keeps changing under us; another auth races"
        )

    async def acquire(self) -> None:
        decision = await self._claim()
        if decision.move is LeaseMove.BLOCKED:
            until = decision.expires_at.isoformat() if decision.expires_at else "unknown"
            raise HolderConflict(
                f"auth {decision.holder!r} holds Lease {self.namespace}/{self.name} for API key {self.key_id} "
                f"(renewed until {until}); only one auth may sign for a key"
            )
        log.info("holding Lease %s/%s (%s)", self.namespace, self.name, decision.move)
        self._renewer = asyncio.create_task(self._renew_forever(), name="lease-renewer")

    async def _renew_forever(self) -> None:
        period = max(1.0, self.duration / 3)
        while True:
            await self._sleep(period)
            try:
                decision = await self._claim()
            except Exception as exc:
                if not self.held:
                    self._lost(f"could not renew Lease {self.name} before it ran out: {describe_error(exc)}")
                    return
                log.warning("Lease %s renewal failed, retrying: %s", self.name, describe_error(exc))
                continue
            if decision.move is LeaseMove.BLOCKED:
                self._lost(f"Lease {self.name} was taken by {decision.holder!r}")
                return
            self.renewals += 1

    def _lost(self, reason: str) -> None:
        self._held_until = None
        log.error("lost the claim on API key %s: %s; signing stops", self.key_id, reason)
        if self._on_lost is not None:
            self._on_lost(reason)

    async def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if self._held_until is not None:
            self._held_until = None
            with contextlib.suppress(Exception):  # expiry frees it anyway
                await self._give_up()
        if self._api_client is not None:
            api_client_, self._api_client = self._api_client, None
            await api_client_.close()

    async def _give_up(self) -> None:
        observed = await self._read()
        if observed is None or observed.holder != self.identity:
            return
        body = self._body(observed, self._now(), take_over=False)
        body["spec"].pop("holderIdentity")  # a Lease without a holder is free at once
        await (await self._api()).replace_namespaced_lease(self.name, self.namespace, body)
        log.info("released Lease %s/%s", self.namespace, self.name)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "lease",
            "lease": f"{self.namespace}/{self.name}",
            "identity": self.identity,
            "held": self.held,
            "held_until": self._held_until.isoformat() if self._held_until else None,
            "renewals": self.renewals,
        }
