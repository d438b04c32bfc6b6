"""The operator's writes and point reads against the Kubernetes API (kubernetes_asyncio, never blocking).

Children are applied with server-side apply under one field manager, so a re-apply of an unchanged object
is a no-op on the server too. Secrets are only ever read as metadata: the operator never holds key material.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from tradingbot_operator.api import constants as c
from tradingbot_operator.reconciler.errors import BotGone

log = logging.getLogger(__name__)

# kind -> (API path prefix, plural) for the namespaced kinds the operator owns.
_PATHS: dict[str, tuple[str, str]] = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "PersistentVolumeClaim": ("/api/v1", "persistentvolumeclaims"),
    "Secret": ("/api/v1", "secrets"),
    "Service": ("/api/v1", "services"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
}
_JSON = {200: "object", 201: "object"}


def _path(kind: str, namespace: str, name: str | None = None) -> str:
    prefix, plural = _PATHS[kind]
    base = f"{prefix}/namespaces/{namespace}/{plural}"
    return f"{base}/{name}" if name else base


# Every call has a deadline: without one (the client's default) a request the API server never answers holds
# its connection forever, and once the pool's 100 are held every reconcile waits for good.
REQUEST_TIMEOUT = 30.0
# Requests in flight at once. Bots reconcile concurrently; a hundred starting together would otherwise send
# hundreds of applies at once, and an API server on two cores answers a burst like that with 504s (Services:
# the ClusterIP allocator) instead of more throughput. client-go's controllers pace themselves the same way.
MAX_IN_FLIGHT = 32


@dataclass
class Kube:
    """A thin async API facade the reconciler uses; one instance per operator process."""

    api: client.ApiClient
    timeout: float = REQUEST_TIMEOUT
    max_in_flight: int = MAX_IN_FLIGHT
    _gate: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.max_in_flight)

    @classmethod
    async def connect(cls) -> Kube:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            await config.load_kube_config()
        return cls(client.ApiClient())

    async def close(self) -> None:
        await self.api.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        async with self._gate:
            return await self.api.call_api(
                path,
                method,
                query_params=query or [],
                body=body,
                header_params={"Content-Type": content_type, "Accept": accept},
                response_types_map=_JSON,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=self.timeout,
            )

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply (create or patch) under the operator's field manager."""
        meta = obj["metadata"]
        return await self._call(
            "PATCH",
            _path(obj["kind"], meta["namespace"], meta["name"]),
            body=dict(obj),
            query=[("fieldManager", c.FIELD_MANAGER), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """One object as it is now, or None when it does not exist."""
        try:
            result: dict[str, Any] = await self._call("GET", _path(kind, namespace, name))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    async def delete(self, kind: str, namespace: str, name: str) -> bool:
        try:
            await self._call("DELETE", _path(kind, namespace, name), body={"propagationPolicy": "Background"})
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    async def secret_exists(self, namespace: str, name: str) -> bool:
        """Existence only: asks for metadata, so no key material ever reaches this process."""
        try:
            await self._call(
                "GET",
                _path("Secret", namespace, name),
                accept="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            )
        except ApiException as error:
            if error.status in (403, 404):
                return False
            raise
        return True

    async def create_paper_credentials(
        self, namespace: str, name: str, owner: Mapping[str, Any], labels: Mapping[str, str]
    ) -> None:
        """A random simulator account for paper trading, owned by the bot; created once, never read back."""
        key = base64.b64encode(secrets.token_bytes(40)).decode()
        secret = base64.b64encode(secrets.token_bytes(64)).decode()
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": dict(labels),
                "ownerReferences": [owner],
            },
            "type": "Opaque",
            "stringData": {"api-key": key, "api-secret": secret},
        }
        try:
            await self._call("POST", _path("Secret", namespace), body=body)
        except ApiException as error:
            if error.status != 409:  # someone (an earlier run) made it already
                raise

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Replace the whole status (merge patch with every list complete); the operator is its only writer."""
        path = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{namespace}/{c.PLURAL}/{name}/status"
        try:
            await self._call(
                "PATCH", path, body={"status": dict(status)}, content_type="application/merge-patch+json"
            )
        except ApiException as error:
            if error.status == 404:
                raise BotGone(f"{namespace}/{name}") from None
            raise

    async def remove_annotation(self, namespace: str, name: str, key: str) -> None:
        path = f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{namespace}/{c.PLURAL}/{name}"
        await self._call(
            "PATCH",
            path,
            body={"metadata": {"annotations": {key: None}}},
            content_type="application/merge-patch+json",
        )
