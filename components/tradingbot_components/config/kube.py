"""The component's own Kubernetes API access: a client from in-cluster or kubeconfig credentials, and the
annotations through which a pod reports the config generation it runs and why it is not ready (the operator
reads both).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

# kubernetes_asyncio is imported where the API is called, not at module level: the import costs about a second of
# CPU, and a component outside Kubernetes (`tradingbot run`, the integration tests) never calls the API.
if TYPE_CHECKING:
    from kubernetes_asyncio import client

GENERATION_ANNOTATION = "tradingbot.dev/config-generation"
NOT_READY_ANNOTATION = "tradingbot.dev/not-ready"
log = logging.getLogger(__name__)

ClientFactory = Callable[[], Awaitable["client.ApiClient"]]


async def api_client(environ: Mapping[str, str] | None = None) -> client.ApiClient:
    """In a pod (KUBERNETES_SERVICE_HOST set) the service account; elsewhere the kubeconfig in $KUBECONFIG
    (or ~/.kube/config). Each caller owns (and closes) its client; nothing global is configured."""
    from kubernetes_asyncio import client, config

    env = os.environ if environ is None else environ
    configuration = client.Configuration()
    if env.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await config.load_kube_config(config_file=env.get("KUBECONFIG"), client_configuration=configuration)
    return client.ApiClient(configuration=configuration)


def parse_generation(annotations: Mapping[str, str] | None) -> int | None:
    """The generation annotation as an int; None when absent or not a number (logged)."""
    raw = (annotations or {}).get(GENERATION_ANNOTATION)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        log.warning("ignoring annotation %s=%r: not an integer", GENERATION_ANNOTATION, raw)
        return None


class PodReporter:
    """Merge-patches the process's own Pod with what the operator reads there: the config generation it runs
    (`tradingbot.dev/config-generation`) and, while it is not ready, why (`tradingbot.dev/not-ready`, the
    reasons its `/readyz` gives; removed when ready).

    Reports are coalesced (only the newest values are written, both in one patch) and retried with backoff, off
    the caller's path: a slow API server never delays applying config. A changed reason while still not ready
    is written at most every `reason_interval` seconds; becoming ready or not ready is written at once.
    """

    def __init__(
        self, namespace: str, pod: str, factory: ClientFactory = api_client, reason_interval: float = 10.0
    ) -> None:
        self.namespace, self.pod = namespace, pod
        self._factory = factory
        self._reason_interval = reason_interval
        self._wanted: dict[str, str | None] = {}
        self._written: dict[str, str | None] = {}
        self._reason_written_at = -float("inf")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PodReporter | None:
        """A reporter when POD_NAME and POD_NAMESPACE (downward API) are set; None outside Kubernetes."""
        env = os.environ if environ is None else environ
        pod, namespace = env.get("POD_NAME"), env.get("POD_NAMESPACE")
        return cls(namespace, pod) if pod and namespace else None

    @property
    def written(self) -> int | None:
        """The last generation that reached the Pod."""
        value = self._written.get(GENERATION_ANNOTATION)
        return int(value) if value is not None else None

    def report(self, generation: int) -> None:
        self._want(GENERATION_ANNOTATION, str(generation))

    def report_readiness(self, not_ready: str | None) -> None:
        """None when ready; otherwise why not, in one line."""
        self._want(NOT_READY_ANNOTATION, not_ready)

    def _want(self, key: str, value: str | None) -> None:
        self._wanted[key] = value
        if self._written.get(key, None) != value:
            self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pod-reporter")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def _due(self) -> dict[str, str | None]:
        """What to write now; a reason that only changed its words waits out `reason_interval`."""
        changes = {k: v for k, v in self._wanted.items() if self._written.get(k, None) != v}
        reason = changes.get(NOT_READY_ANNOTATION)
        if (
            NOT_READY_ANNOTATION in changes
            and reason is not None
            and self._written.get(NOT_READY_ANNOTATION) is not None
            and time.monotonic() - self._reason_written_at < self._reason_interval
        ):
            del changes[NOT_READY_ANNOTATION]
        return changes

    async def _run(self) -> None:
        from kubernetes_asyncio import client

        api: client.ApiClient | None = None
        failures = 0
        try:
            while True:
                changes = self._due()
                if not changes:
                    held = any(self._written.get(k, None) != v for k, v in self._wanted.items())
                    self._wake.clear()
                    if held:  # a reason change waiting out its interval
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self._reason_interval / 4)
                    else:
                        await self._wake.wait()
                    continue
                try:
                    api = api or await self._factory()
                    # `_content_type` is accepted through **kwargs; the generated stubs do not say so.
                    await client.CoreV1Api(api).patch_namespaced_pod(  # type: ignore[call-arg]
                        self.pod,
                        self.namespace,
                        {"metadata": {"annotations": changes}},
                        _content_type="application/merge-patch+json",
                    )
                    self._written.update(changes)
                    failures = 0
                    if NOT_READY_ANNOTATION in changes:
                        self._reason_written_at = time.monotonic()
                    if GENERATION_ANNOTATION in changes:
                        log.info(
                            "pod %s/%s reports config generation %s",
                            self.namespace,
                            self.pod,
                            changes[GENERATION_ANNOTATION],
                        )
                except Exception as exc:
                    failures += 1
                    delay = backoff_delay(failures, base=0.5, cap=30.0)
                    log.warning(
                        "could not annotate pod %s/%s with %s (%s); retrying in %.1fs",
                        self.namespace,
                        self.pod,
                        ", ".join(sorted(changes)),
                        describe_error(exc),
                        delay,
                    )
                    await asyncio.sleep(delay)
        finally:
            if api is not None:
                await api.close()
