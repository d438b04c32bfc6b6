"""Feeding a ConfigManager from its sources: the ConfigMap watch is authoritative while it is connected;
the mounted file gives the starting document when the API cannot, and changes while the watch is down.

The kubelet refreshes a mounted ConfigMap only every minute or so, and may lag the API by a version, so a
file change seen while the watch is healthy is ignored rather than allowed to roll the config back.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from tradingbot_components.config.changes import FieldError
from tradingbot_components.config.kube import ClientFactory, api_client
from tradingbot_components.config.manager import ConfigManager, ConfigRejected
from tradingbot_components.config.sources import (
    ConfigMapSource,
    ConfigMapUnavailable,
    DocumentError,
    FileSource,
    SourceDocument,
)

log = logging.getLogger(__name__)


class ConfigFeed:
    """`await load()` the starting document, then `start()` watching; `stop()` on the way out."""

    def __init__(
        self,
        manager: ConfigManager,
        *,
        file: Path | None = None,
        configmap: tuple[str, str] | None = None,
        factory: ClientFactory = api_client,
        api_timeout: float = 3.0,
        file_interval: float = 0.2,
    ) -> None:
        self.manager = manager
        self.api_timeout = api_timeout
        self.file = FileSource(file, self._from_file, interval=file_interval) if file else None
        self.configmap = (
            ConfigMapSource(configmap[0], configmap[1], self._apply, factory=factory) if configmap else None
        )

    async def load(self) -> None:
        """Apply the starting document: the ConfigMap's (waiting at most `api_timeout` when a file can
        stand in), else the file's, else the defaults. Raises `ConfigRejected` or the source's error."""
        first: SourceDocument | None = None
        if self.configmap is not None:
            try:
                timeout = self.api_timeout if self.file is not None else None
                first = await asyncio.wait_for(self.configmap.read(), timeout)
            except (ConfigMapUnavailable, TimeoutError) as exc:
                if self.file is None:
                    raise
                log.warning("%s; starting from %s instead", exc or "the API did not answer", self.file.origin)
        if first is None and self.file is not None:
            try:
                first = await self.file.read()
            except DocumentError as exc:
                raise ConfigRejected([FieldError("", str(exc))]) from None
        if first is None:
            first = SourceDocument(origin="defaults", document={})
        if first.error is not None:
            raise ConfigRejected([FieldError("", first.error)])
        assert first.document is not None
        result = await self.manager.update(first.document, first.generation, origin=first.origin)
        if not result.applied:
            raise ConfigRejected(result.errors)

    async def start(self) -> None:
        if self.file is not None:
            await self.file.start()
        if self.configmap is not None:
            await self.configmap.start()

    async def stop(self) -> None:
        if self.configmap is not None:
            await self.configmap.stop()
        if self.file is not None:
            await self.file.stop()

    def status(self) -> dict[str, Any]:
        sources: dict[str, Any] = {}
        if self.configmap is not None:
            sources[self.configmap.origin] = {"connected": self.configmap.connected, "primary": True}
        if self.file is not None:
            sources[self.file.origin] = {"primary": self.configmap is None}
        return sources

    async def _from_file(self, found: SourceDocument) -> None:
        if self.configmap is not None and self.configmap.connected:
            log.debug("%s changed; the ConfigMap watch is authoritative, ignoring it", found.origin)
            return
        await self._apply(found)

    async def _apply(self, found: SourceDocument) -> None:
        if found.error is not None:
            self.manager.reject(found.error, origin=found.origin, generation=found.generation)
            return
        assert found.document is not None
        await self.manager.update(found.document, found.generation, origin=found.origin)
