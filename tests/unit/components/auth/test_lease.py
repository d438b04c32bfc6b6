"""One live auth per key in Kubernetes: the Lease decision table, and, against a fake API, what the real API
server cannot be made to do here: become unreachable, so that a holder loses its claim before the Lease runs
out. Holding, refusing, taking over after SIGKILL and releasing run on the real API server in
tests/e2e/components/test_auth_lease.py."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from tradingbot_components.auth.lease import (
    KubeLeaseHolder,
    LeaseMove,
    LeaseView,
    decide_lease,
    lease_name,
    micro_time,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def view(holder: str | None, renewed_ago: float | None, duration: int | None = 15) -> LeaseView:
    renewed = None if renewed_ago is None else NOW - timedelta(seconds=renewed_ago)
    return LeaseView(holder, renewed, duration, "7")


@pytest.mark.parametrize(
    ("observed", "move"),
    [
        (None, LeaseMove.CREATE),
        (view("me", 3), LeaseMove.RENEW),
        (view("me", 60), LeaseMove.RENEW),  # still ours: renewing in time is our business
        (view("other", 3), LeaseMove.BLOCKED),
        (view("other", 15), LeaseMove.TAKE_OVER),  # expired exactly now
        (view("other", 60), LeaseMove.TAKE_OVER),
        (view(None, 3), LeaseMove.TAKE_OVER),  # released
        (view("other", None), LeaseMove.TAKE_OVER),  # never renewed
        (view("other", 3, None), LeaseMove.TAKE_OVER),
    ],
)
def test_decide_lease(observed: LeaseView | None, move: LeaseMove) -> None:
    assert decide_lease(observed, "me", NOW).move is move


def test_a_blocked_decision_names_the_holder_and_when_it_runs_out() -> None:
    decision = decide_lease(view("auth-7d9f", 5), "me", NOW)
    assert decision.holder == "auth-7d9f"
    assert decision.expires_at == NOW + timedelta(seconds=10)


def test_micro_time_always_has_six_fractional_digits() -> None:
    assert micro_time(NOW) == "2026-01-02T03:04:05.000000Z"


def test_lease_name_is_a_dns_name() -> None:
    assert lease_name("key-0123456789abcdef") == "tradingbot-auth-key-0123456789abcdef"


class FakeCoordination:
    """Leases by name with resourceVersion checks, like the API server."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.fail = False

    def __call__(self, _api_client: object) -> FakeCoordination:
        return self

    def _object(self, body: dict[str, Any]) -> client.V1Lease:
        spec = body["spec"]
        renew = spec.get("renewTime")
        return client.V1Lease(
            metadata=client.V1ObjectMeta(name=body["metadata"]["name"], resource_version=str(body["rv"])),
            spec=client.V1LeaseSpec(
                holder_identity=spec.get("holderIdentity"),
                lease_duration_seconds=spec.get("leaseDurationSeconds"),
                renew_time=datetime.strptime(renew, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                if renew
                else None,
                lease_transitions=spec.get("leaseTransitions"),
            ),
        )

    async def read_namespaced_lease(self, name: str, namespace: str) -> client.V1Lease:
        if self.fail:
            raise ApiException(status=503)
        if name not in self.leases:
            raise ApiException(status=404)
        return self._object(self.leases[name])

    def _store(self, body: dict[str, Any]) -> None:
        self.version += 1
        stored = copy.deepcopy(body)
        stored["rv"] = self.version
        self.leases[body["metadata"]["name"]] = stored

    async def create_namespaced_lease(self, namespace: str, body: dict[str, Any]) -> None:
        if body["metadata"]["name"] in self.leases:
            raise ApiException(status=409)
        self._store(body)

    async def replace_namespaced_lease(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        if self.fail:
            raise ApiException(status=503)
        if str(self.leases[name]["rv"]) != body["metadata"].get("resourceVersion"):
            raise ApiException(status=409)
        self._store(body)


class FakeApiClient:
    closed = False

    async def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.renewals = asyncio.Event()

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def holder(
    api: FakeCoordination, clock: Clock, identity: str, lost: list[str] | None = None
) -> KubeLeaseHolder:
    async def factory() -> Any:
        return FakeApiClient()

    return KubeLeaseHolder(
        "bots",
        "key-abc",
        identity,
        factory=factory,
        coordination=api,
        now=clock,
        sleep=clock.sleep,
        on_lost=(lost.append if lost is not None else None),
    )


async def test_renewal_keeps_the_lease_and_an_unreachable_api_loses_it_before_expiry() -> None:
    api, clock, lost = FakeCoordination(), Clock(), []
    held = holder(api, clock, "auth-a", lost)
    await held.acquire()
    for _ in range(50):
        if held.renewals >= 2:
            break
        await asyncio.sleep(0)
    assert held.renewals >= 2 and held.held
    api.fail = True
    for _ in range(200):
        if lost:
            break
        await asyncio.sleep(0)
    assert lost and "could not renew" in lost[0]
    assert not held.held
    await held.release()
