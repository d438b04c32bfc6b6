"""Where config documents come from: a file (a mounted ConfigMap directory, or a local config.json) and
the ConfigMap itself, watched through the Kubernetes API.

Each source hands `SourceDocument`s to a sink; `feed.py` decides which source wins and applies them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tradingbot_components.config.kube import ClientFactory, api_client, parse_generation
from tradingbot_components.runtime.backoff import backoff_delay
from tradingbot_components.runtime.invocation import describe_error
from tradingbot_components.runtime.tasks import cancel_and_wait

# kubernetes_asyncio is imported where the API is called, not at module level: the import costs about a second of
# CPU, and a component outside Kubernetes (`tradingbot run`, the integration tests) never calls the API.
if TYPE_CHECKING:
    from kubernetes_asyncio import client

log = logging.getLogger(__name__)
CONFIG_KEY = "config.json"


class DocumentError(ValueError):
    """A config document that cannot be read or parsed (before any schema validation)."""


class ConfigMapUnavailable(RuntimeError):
    """The ConfigMap could not be read (API unreachable, forbidden, or no such ConfigMap)."""


@dataclass(frozen=True)
class SourceDocument:
    """One version of the document as a source saw it; `error` is set instead when it was unreadable."""

    origin: str
    document: dict[str, Any] | None = None
    generation: int | None = None
    error: str | None = None


Sink = Callable[[SourceDocument], Awaitable[None]]


def parse_document(text: str, *, name: str) -> dict[str, Any]:
    """JSON (`*.json`) or YAML (anything else; YAML also reads JSON); the top level must be a mapping."""
    try:
        data = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise DocumentError(
            f"{name} is not valid {'JSON' if name.endswith('.json') else 'YAML'}: {exc}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(f"{name} must hold a mapping at the top level, got {type(data).__name__}")
    return data


def read_file_document(path: Path) -> SourceDocument:
    """The document in `path` now (raises `DocumentError` when it is missing or unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    return SourceDocument(origin=f"file:{path}", document=parse_document(text, name=path.name))


_Signature = tuple[str, int, int, int, int, int]


def _signature(path: Path) -> _Signature | None:
    """What changes when the file does: the kubelet's `..data` swap moves the resolved path (and inode);
    an in-place rewrite moves mtime/ctime/size."""
    try:
        real = path.resolve()
        st = real.stat()
    except OSError:
        return None
    return (str(real), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


class FileSource:
    """Polls one file every `interval` seconds (cheap: a realpath and a stat) and delivers new versions.

    A version that fails to parse is delivered as an error only once it has stayed the same for a whole
    interval, so a reader racing a writer's in-place rewrite does not count a spurious rejection.
    """

    def __init__(self, path: Path, sink: Sink, *, interval: float = 0.2) -> None:
        self.path = Path(path)
        self.interval = interval
        self._sink = sink
        self._seen: _Signature | None = None
        self._pending: tuple[_Signature, str] | None = None  # a version that failed to parse, unreported
        self._missing_logged = False
        self._task: asyncio.Task[None] | None = None
        self.polls = 0  # completed polls, so tests (and /healthz) can tell the watcher is turning

    @property
    def origin(self) -> str:
        return f"file:{self.path}"

    async def read(self) -> SourceDocument:
        """The document now; the version read becomes the one `start()` compares against."""
        self._seen = _signature(self.path)
        return await asyncio.to_thread(read_file_document, self.path)

    async def start(self) -> None:
        if self._seen is None:
            self._seen = _signature(self.path)
        self._task = asyncio.create_task(self._run(), name=f"config-file-{self.path.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._poll_once()
            self.polls += 1

    async def _poll_once(self) -> None:
        current = _signature(self.path)
        if current is None:
            if not self._missing_logged:
                log.warning("config file %s is gone; keeping the last good config", self.path)
                self._missing_logged = True
            return
        self._missing_logged = False
        pending = self._pending
        if pending is not None and pending[0] == current:
            # The broken version did not change for a whole interval: it is what the file holds.
            self._pending = None
            await self._sink(SourceDocument(origin=self.origin, error=pending[1]))
            return
        if current == self._seen:
            return
        self._seen = current
        try:
            document = await asyncio.to_thread(read_file_document, self.path)
        except DocumentError as exc:
            self._pending = (current, str(exc))
            return
        self._pending = None
        await self._sink(document)


class ConfigMapSource:
    """Lists, then watches, one ConfigMap (fieldSelector `metadata.name=NAME`) and delivers each version.

    Resumes the watch from the last resourceVersion (bookmarks keep it fresh), lists again on 410 Gone,
    and reconnects with backoff when the API server is unreachable. Changes arrive as watch events,
    well under a second after the ConfigMap is written.
    """

    def __init__(
        self,
        namespace: str,
        name: str,
        sink: Sink,
        *,
        key: str = CONFIG_KEY,
        factory: ClientFactory = api_client,
        watch_timeout: int = 300,
        backoff_max: float = 10.0,
    ) -> None:
        self.namespace, self.name, self.key = namespace, name, key
        self.watch_timeout = watch_timeout
        self.backoff_max = backoff_max
        self._sink = sink
        self._factory = factory
        self._api: client.ApiClient | None = None
        self._delivered: str | None = None  # resourceVersion of the last delivered version
        self._connected = False
        self._exists = False
        self._task: asyncio.Task[None] | None = None

    @property
    def origin(self) -> str:
        return f"configmap:{self.namespace}/{self.name}"

    @property
    def connected(self) -> bool:
        """True while the watch is established and the ConfigMap exists (so the API, not the mounted
        file, is authoritative)."""
        return self._connected and self._exists

    async def read(self) -> SourceDocument:
        """The ConfigMap's document now; raises `ConfigMapUnavailable`."""
        try:
            found, _ = await self._list()
        except Exception as exc:
            raise ConfigMapUnavailable(f"cannot read {self.origin}: {describe_error(exc)}") from exc
        if found is None:
            raise ConfigMapUnavailable(f"{self.origin} does not exist")
        return found

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"configmap-{self.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._connected = False
        if self._api is not None:
            await self._api.close()
            self._api = None

    async def _core(self) -> client.CoreV1Api:
        from kubernetes_asyncio import client

        if self._api is None:
            self._api = await self._factory()
        return client.CoreV1Api(self._api)

    async def _list(self) -> tuple[SourceDocument | None, str]:
        core = await self._core()
        listing = await core.list_namespaced_config_map(
            self.namespace, field_selector=f"metadata.name={self.name}"
        )
        items = listing.items or []
        found = None
        if items:
            assert self._api is not None
            found = self._document(self._api.sanitize_for_serialization(items[0]))
        return found, listing.metadata.resource_version

    async def _run(self) -> None:
        from kubernetes_asyncio.client.exceptions import ApiException

        failures = 0
        while True:
            try:
                found, version = await self._list()
                self._connected, self._exists = True, found is not None
                failures = 0
                if found is None:
                    log.warning("%s does not exist (yet); keeping the current config", self.origin)
                else:
                    await self._deliver(found)
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except ApiException as exc:
                if exc.status == 410:
                    log.info("%s: watch expired (410 Gone); listing again", self.origin)
                    continue
                failures = await self._backoff(failures, exc)
            except Exception as exc:
                failures = await self._backoff(failures, exc)

    async def _watch(self, version: str) -> str:
        """Stream events from `version` until the server ends the watch; returns where to resume."""
        from kubernetes_asyncio import watch

        core = await self._core()
        stream = watch.Watch()
        try:
            async for event in stream.stream(
                core.list_namespaced_config_map,
                self.namespace,
                field_selector=f"metadata.name={self.name}",
                resource_version=version,
                allow_watch_bookmarks=True,
                timeout_seconds=self.watch_timeout,
                _request_timeout=self.watch_timeout + 30,
            ):
                kind, raw = event["type"], event["raw_object"]
                if kind in ("ADDED", "MODIFIED"):
                    self._exists = True
                    await self._deliver(self._document(raw))
                elif kind == "DELETED":
                    self._exists = False
                    log.warning("%s was deleted; keeping the last good config", self.origin)
        finally:
            await stream.close()
        return stream.resource_version or version

    async def _backoff(self, failures: int, exc: BaseException) -> int:
        self._connected = False
        failures += 1
        delay = backoff_delay(failures, base=0.2, cap=self.backoff_max)
        log.warning("%s: %s; reconnecting in %.1fs", self.origin, describe_error(exc), delay)
        await asyncio.sleep(delay)
        return failures

    async def _deliver(self, found: SourceDocument) -> None:
        version = found.origin.rpartition("@")[2]
        if version == self._delivered:
            return
        self._delivered = version
        await self._sink(found)

    def _document(self, raw: Mapping[str, Any]) -> SourceDocument:
        metadata = raw.get("metadata") or {}
        origin = f"{self.origin}@{metadata.get('resourceVersion', '?')}"
        generation = parse_generation(metadata.get("annotations"))
        text = (raw.get("data") or {}).get(self.key)
        if text is None:
            return SourceDocument(
                origin, generation=generation, error=f"{self.origin} has no key {self.key!r}"
            )
        try:
            return SourceDocument(origin, parse_document(text, name=self.key), generation)
        except DocumentError as exc:
            return SourceDocument(origin, generation=generation, error=str(exc))
