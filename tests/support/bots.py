"""TradingBot helpers for e2e tests: apply, read, wait for status, and watch Deployments in order."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, watch

from tests.support.cluster import FAKE_NODE_ANNOTATIONS, ROOT, LocalCluster
from tests.support.waiting import WaitTimeout, wait_until
from tradingbot_operator.plugin.reading import read_bot
from tradingbot_operator.plugin.views import render_status

GROUP, VERSION, PLURAL = "tradingbot.dev", "v1alpha1", "tradingbots"
NODE_SELECTOR_ANNOTATION = "scheduler.alpha.kubernetes.io/node-selector"
# kwok nodes run no volume provisioner: bots there keep storage on an emptyDir (spec.storage).
KWOK_STORAGE = {"volume": "EmptyDir"}


def example(name: str = "tradingbot.yaml") -> dict[str, Any]:
    return yaml.safe_load((ROOT / "examples" / name).read_text())


def bot_manifest(name: str = "bot", **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(example())
    body["metadata"] = {"name": name}
    body["spec"].update(spec)
    return body


@dataclass
class Bots:
    """Typed-enough access to TradingBots and their children in one namespace."""

    cluster: LocalCluster
    namespace: str
    api: client.ApiClient = field(init=False)
    _kwok: bool | None = field(init=False, default=None)
    _default_class: bool | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.api = config.new_client_from_config(config_file=str(self.cluster.kubeconfig))

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the bot; where no volume can be provisioned for it (kwok nodes, or a cluster without a default
        StorageClass) its storage is an emptyDir unless the manifest says otherwise (the default, a
        PersistentVolumeClaim, is tested on the real node)."""
        if (self.on_kwok_nodes() or not self.has_default_storage_class()) and "storage" not in manifest.get(
            "spec", {}
        ):
            manifest = {**manifest, "spec": {**manifest.get("spec", {}), "storage": dict(KWOK_STORAGE)}}
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, manifest)

    def has_default_storage_class(self) -> bool:
        """Whether the cluster provisions claims without a class named (read once per Bots)."""
        if self._default_class is None:
            classes = client.StorageV1Api(self.api).list_storage_class().items
            self._default_class = any(
                (c.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
                for c in classes
            )
        return self._default_class

    def on_kwok_nodes(self) -> bool:
        """True when the namespace sends its pods to the kwok nodes (see Placement.FAKE)."""
        if self._kwok is None:
            namespace = self.core.read_namespace(self.namespace)
            selector = (namespace.metadata.annotations or {}).get(NODE_SELECTOR_ANNOTATION, "")
            self._kwok = selector == FAKE_NODE_ANNOTATIONS[NODE_SELECTOR_ANNOTATION]
        return self._kwok

    def get(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name, patch)

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except client.ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    def status(self, name: str) -> dict[str, Any]:
        return self.get(name).get("status") or {}

    def condition(self, name: str, type_: str) -> dict[str, Any] | None:
        return next((c for c in self.status(name).get("conditions", []) if c["type"] == type_), None)

    def wait_for(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        what: str = "status",
    ) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            nonlocal last
            last = self.get(name)
            status = last.get("status") or {}
            return status if predicate(status) else None

        try:
            return wait_until(probe, timeout=timeout, what=what)
        except WaitTimeout as exc:
            # What `kubectl tradingbot status` would have shown, and the Deployments as the API has them.
            raise WaitTimeout(
                f"timed out after {timeout}s waiting for {what}; the bot as last read:\n"
                f"{render_status(read_bot(last), datetime.now(UTC))}\n"
                f"its Deployments: {self.describe_deployments(name)}"
            ) from exc

    def wait_ready(self, name: str, timeout: float = 60) -> dict[str, Any]:
        def ready(status: dict[str, Any]) -> bool:
            cond = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})
            return cond.get("status") == "True"

        return self.wait_for(name, ready, timeout, what=f"{name} Ready")

    def describe_deployments(self, bot: str) -> str:
        """`component ready/replicas (generation observed/current)` for each of the bot's Deployments."""
        try:
            items = self.apps.list_namespaced_deployment(
                self.namespace, label_selector=f"app.kubernetes.io/instance={bot}"
            ).items
        except client.ApiException as error:
            return f"(not listed: {error.status} {error.reason})"
        rows = [
            f"{d.metadata.labels.get('app.kubernetes.io/component')} {d.status.ready_replicas or 0}/"
            f"{d.spec.replicas} (generation {d.status.observed_generation}/{d.metadata.generation})"
            for d in sorted(items, key=lambda d: d.metadata.name)
        ]
        return ", ".join(rows) or "none"

    def deployments(self) -> dict[str, Any]:
        items = self.apps.list_namespaced_deployment(self.namespace).items
        return {d.metadata.labels.get("app.kubernetes.io/component"): d for d in items}

    def resource_versions(self) -> dict[str, str]:
        """resourceVersion of every object in the namespace that the operator writes."""
        versions = {
            f"Deployment/{d.metadata.name}": d.metadata.resource_version
            for d in self.apps.list_namespaced_deployment(self.namespace).items
        }
        versions |= {
            f"ConfigMap/{c.metadata.name}": c.metadata.resource_version
            for c in self.core.list_namespaced_config_map(self.namespace).items
        }
        versions |= {
            f"Service/{s.metadata.name}": s.metadata.resource_version
            for s in self.core.list_namespaced_service(self.namespace).items
        }
        for bot in self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)["items"]:
            versions[f"TradingBot/{bot['metadata']['name']}"] = bot["metadata"]["resourceVersion"]
        return versions


class DeploymentRecorder:
    """Records Deployment watch events (ADDED, and replica changes) in the order the API server sent them."""

    def __init__(self, bots: Bots) -> None:
        self.bots = bots
        self.events: list[tuple[str, str, int]] = []  # (type, component, spec.replicas)
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._stopping = False

    def __enter__(self) -> DeploymentRecorder:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        self._watch.stop()
        self.bots.api.close()  # ends the blocked streaming read
        self._thread.join(timeout=10)

    def _run(self) -> None:
        listing = self.bots.apps.list_namespaced_deployment(self.bots.namespace)
        self._ready.set()
        replicas: dict[str, int] = {}
        try:
            self._record(listing.metadata.resource_version, replicas)
        except Exception:
            if not self._stopping:
                raise

    def _record(self, resource_version: str, replicas: dict[str, int]) -> None:
        for event in self._watch.stream(
            self.bots.apps.list_namespaced_deployment,
            self.bots.namespace,
            resource_version=resource_version,
            timeout_seconds=300,
        ):
            obj = event["object"]
            component = obj.metadata.labels.get("app.kubernetes.io/component")
            count = obj.spec.replicas
            if event["type"] == "ADDED" or replicas.get(component) != count:
                self.events.append((event["type"], component, count))
            replicas[component] = count

    def created(self) -> list[str]:
        return [c for t, c, _ in self.events if t == "ADDED"]

    def scaled_to_zero(self) -> list[str]:
        return [c for t, c, r in self.events if t == "MODIFIED" and r == 0]


def write_manifest(tmp: Path, manifest: dict[str, Any]) -> Path:
    path = tmp / f"{manifest['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path
