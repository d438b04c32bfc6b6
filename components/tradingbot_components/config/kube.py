"""The component's own Kubernetes API access: a client from in-cluster or kubeconfig credentials, and the
annotation through which a pod reports the config generation it runs (the operator reads it).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping

from kubernetes_asyncio import client, config

from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

GENERATION_ANNOTATION = "tradingbot.dev/config-generation"
log = logging.getLogger(__name__)

ClientFactory = Callable[[], Awaitable[client.ApiClient]]


async def api_client(environ: Mapping[str, str] | None = None) -> client.ApiClient:
    """In a pod (KUBERNETES_SERVICE_HOST set) the service account; elsewhere the kubeconfig in $KUBECONFIG
    (or ~/.kube/config). Each caller owns (and closes) its client; nothing global is configured."""
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


class PodGenerationReporter:
    """Merge-patches `tradingbot.dev/config-generation` on the process's own Pod after each applied config.

    Reports are coalesced (only the newest generation is written) and retried with backoff, off the
    caller's path: a slow API server never delays applying config.
    """

    def __init__(self, namespace: str, pod: str, factory: ClientFactory = api_client) -> None:
        self.namespace, self.pod = namespace, pod
        self._factory = factory
        self._wanted: int | None = None
        self._written: int | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PodGenerationReporter | None:
        """A reporter when POD_NAME and POD_NAMESPACE (downward API) are set; None outside Kubernetes."""
        env = os.environ if environ is None else environ
        pod, namespace = env.get("POD_NAME"), env.get("POD_NAMESPACE")
        return cls(namespace, pod) if pod and namespace else None

    @property
    def written(self) -> int | None:
        """The last generation that reached the Pod."""
        return self._written

    def report(self, generation: int) -> None:
        self._wanted = generation
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pod-generation-reporter")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        api: client.ApiClient | None = None
        failures = 0
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                wanted = self._wanted
                if wanted is None or wanted == self._written:
                    continue
                try:
                    api = api or await self._factory()
                    # `_content_type` is accepted through **kwargs; the generated stubs do not say so.
                    await client.CoreV1Api(api).patch_namespaced_pod(  # type: ignore[call-arg]
                        self.pod,
                        self.namespace,
                        {"metadata": {"annotations": {GENERATION_ANNOTATION: str(wanted)}}},
                        _content_type="application/merge-patch+json",
                    )
                    self._written, failures = wanted, 0
                    log.info("pod %s/%s reports config generation %d", self.namespace, self.pod, wanted)
                except Exception as exc:
                    failures += 1
                    delay = backoff_delay(failures, base=0.5, cap=30.0)
                    log.warning(
                        "could not annotate pod %s/%s with generation %d (%s); retrying in %.1fs",
                        self.namespace,
                        self.pod,
                        wanted,
                        describe_error(exc),
                        delay,
                    )
                    await asyncio.sleep(delay)
                    self._wake.set()
        finally:
            if api is not None:
                await api.close()
