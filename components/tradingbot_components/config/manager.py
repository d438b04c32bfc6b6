"""The live config of a component process: one validated `BotConfig`, changed only by whole documents.

Precedence, highest first:

1. environment overrides: `TRADINGBOT_<SECTION>_<KEY>` (e.g. `TRADINGBOT_TRADING_PROFIT_TARGET=0.007`) or
   the explicit `TRADINGBOT__<SECTION>__<KEY>` form (which wins if both set one field);
2. the live document (a mounted file or the ConfigMap watched through the API);
3. the schema's defaults.

Every update validates the whole document with the overrides applied on top; an invalid one is rejected
with field paths and the last good config stays. `update_config(path, value)` is a whole-document update
too: the current document with one value set, validated by the same `validate`. Hot fields change in place; restart fields change too
but are listed in `restart_required` until the process restarts. Secret fields are never exported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel, ValidationError

from tradingbot_components.config.changes import (
    POLICIES,
    Change,
    FieldError,
    diff,
    field_errors,
    redacted,
    restart_required,
    show,
)
from tradingbot_components.config.env import EnvOverrides, read_overrides
from tradingbot_components.config.paths import with_value
from tradingbot_components.config.schema import BotConfig
from tradingbot_components.runtime.invocation import call_hook, describe_error

log = logging.getLogger(__name__)

ChangeCallback = Callable[[str, Any, Any], Awaitable[None] | None]
AppliedCallback = Callable[[int], Awaitable[None] | None]


class ConfigRejected(ValueError):
    """A document that does not validate; `errors` name the fields and the reasons."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("invalid config: " + "; ".join(str(error) for error in self.errors))


@dataclass(frozen=True)
class Rejection:
    """The last document that was turned away, for /healthz."""

    time: float
    origin: str
    generation: int | None
    errors: tuple[FieldError, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "origin": self.origin,
            "generation": self.generation,
            "errors": [error.to_dict() for error in self.errors],
        }


@dataclass(frozen=True)
class UpdateResult:
    applied: bool
    generation: int
    changes: tuple[Change, ...] = ()
    errors: tuple[FieldError, ...] = ()


@dataclass
class _Subscriber:
    callback: ChangeCallback
    prefix: str | None = None

    def wants(self, path: str) -> bool:
        return self.prefix is None or path == self.prefix or path.startswith(self.prefix + ".")


class ConfigMetrics:
    def __init__(self, registry: CollectorRegistry, namespace: str = "tradingbot") -> None:
        self.generation = Gauge(
            "config_generation",
            "Generation of the config this process runs",
            namespace=namespace,
            registry=registry,
        )
        self.valid = Gauge(
            "config_valid",
            "1 when the latest config document was accepted",
            namespace=namespace,
            registry=registry,
        )
        self.rejected = Counter(
            "config_rejected", "Config documents rejected as invalid", namespace=namespace, registry=registry
        )
        self.applied = Counter(
            "config_applied", "Config documents applied with changes", namespace=namespace, registry=registry
        )
        self.restart_required = Gauge(
            "config_restart_required",
            "Restart-policy fields changed since this process started (a restart applies them)",
            namespace=namespace,
            registry=registry,
        )


@dataclass
class _State:
    config: BotConfig
    generation: int
    loaded: bool
    baseline: BotConfig
    document: Mapping[str, Any] = field(default_factory=dict)  # as the source gave it (no environment)
    origin: str = "defaults"
    updated_at: float | None = None
    valid: bool = True
    last_error: Rejection | None = None
    restart_required: frozenset[str] = field(default_factory=frozenset)


class ConfigManager:
    """Holds the validated config; `update()` whole documents, `get()` fields, `subscribe()` to changes."""

    def __init__(
        self,
        document: Mapping[str, Any] | None = None,
        *,
        generation: int | None = None,
        environ: Mapping[str, str] | None = None,
        component: str | None = None,
        registry: CollectorRegistry | None = None,
        origin: str = "document",
    ) -> None:
        """Defaults plus environment when `document` is None (then `loaded` is False until the first
        update); raises `ConfigRejected` when the starting document, or the environment, is invalid."""
        self.component = component
        self.env: EnvOverrides = read_overrides(os.environ if environ is None else environ)
        for variable in self.env.unknown:
            log.warning("ignoring %s: it names no config field (see docs/configuration.md)", variable)
        for problem in self.env.problems:
            log.warning("environment override: %s", problem)
        self._metrics = ConfigMetrics(registry if registry is not None else CollectorRegistry())
        config = self.validate(document or {})
        loaded = document is not None
        start = generation if generation is not None else (1 if loaded else 0)
        self._state = _State(
            config, start, loaded, config, dict(document or {}), origin if loaded else "defaults"
        )
        self._subscribers: list[_Subscriber] = []
        self._applied: list[AppliedCallback] = []
        self._lock = asyncio.Lock()
        self._metrics.generation.set(start)
        self._metrics.valid.set(1)

    # -- reading -----------------------------------------------------------------------------------

    @property
    def config(self) -> BotConfig:
        return self._state.config

    @property
    def generation(self) -> int:
        return self._state.generation

    @property
    def loaded(self) -> bool:
        """True once a document (not only defaults) was applied."""
        return self._state.loaded

    @property
    def valid(self) -> bool:
        """False while the latest document is rejected (the last good config is still in force)."""
        return self._state.valid

    @property
    def last_error(self) -> Rejection | None:
        return self._state.last_error

    @property
    def restart_required(self) -> frozenset[str]:
        """Restart-policy fields (read by this component) changed since the process started."""
        return self._state.restart_required

    def get(self, path: str) -> Any:
        """A field (`trading.profit_target`) or a whole section (`trading`) by dotted path."""
        node: Any = self._state.config
        for part in path.split("."):
            if not isinstance(node, BaseModel) or part not in type(node).model_fields:
                raise KeyError(f"unknown config path {path!r}")
            node = getattr(node, part)
        return node

    @property
    def document(self) -> Mapping[str, Any]:
        """The document in force as its source gave it, before environment overrides and defaults."""
        return self._state.document

    def export(self) -> dict[str, Any]:
        """What `/config` shows: the generation and the document with secrets redacted."""
        return {"generation": self.generation, "config": redacted(self._state.config)}

    def status(self) -> dict[str, Any]:
        """The config part of `/healthz`."""
        state = self._state
        return {
            "generation": state.generation,
            "loaded": state.loaded,
            "valid": state.valid,
            "origin": state.origin,
            "updated_at": state.updated_at,
            "last_error": state.last_error.to_dict() if state.last_error else None,
            "restart_required": sorted(state.restart_required),
            "env_overrides": {o.path: o.variable for o in self.env.overrides},
            "env_ignored": list(self.env.unknown),
        }

    # -- listening ---------------------------------------------------------------------------------

    def subscribe(self, callback: ChangeCallback, *, prefix: str | None = None) -> Callable[[], None]:
        """`callback(path, old, new)` (sync or async) for each changed leaf field, optionally only those
        under `prefix` (`trading` or `trading.pairs`); returns a function that unsubscribes.

        Callbacks run in order after the change is in force, and must not call `update` themselves.
        """
        subscriber = _Subscriber(callback, prefix)
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def on_applied(self, callback: AppliedCallback) -> Callable[[], None]:
        """`callback(generation)` after every applied document, even one that changed only the generation."""
        self._applied.append(callback)
        return lambda: self._applied.remove(callback) if callback in self._applied else None

    # -- changing ----------------------------------------------------------------------------------

    def validate(self, document: Mapping[str, Any]) -> BotConfig:
        """`document` with the environment on top, validated as a whole; raises `ConfigRejected`."""
        if not isinstance(document, Mapping):
            raise ConfigRejected([FieldError("", f"expected a mapping, got {type(document).__name__}")])
        variables = {o.path: o.variable for o in self.env.overrides}
        try:
            return BotConfig.model_validate(self.env.apply(document))
        except ValidationError as exc:
            raise ConfigRejected(field_errors(exc, variables)) from None

    async def update(
        self, document: Mapping[str, Any], generation: int | None = None, *, origin: str = "update"
    ) -> UpdateResult:
        """Apply a whole new document, or reject it and keep the last good config.

        `generation` is the source's (the ConfigMap annotation); without one, a local counter advances
        on each document that changes something.
        """
        async with self._lock:
            try:
                config = self.validate(document)
            except ConfigRejected as exc:
                self._reject(exc.errors, origin, generation)
                return UpdateResult(False, self.generation, errors=exc.errors)
            return await self._apply(config, document, generation, origin)

    def with_value(self, path: str, value: Any) -> tuple[dict[str, Any], BotConfig]:
        """The current document with `path` set to `value`, and that document validated as a whole (exactly
        as `update` would); raises `ConfigRejected` naming the field. Changes nothing."""
        try:
            document = with_value(self._state.document, path, value)
        except ValueError as exc:
            raise ConfigRejected([FieldError(path, str(exc))]) from None
        return document, self.validate(document)

    async def update_config(self, path: str, value: Any, *, origin: str = "update_config") -> UpdateResult:
        """Set one field (`update_config("trading.profit_target", 0.007)`): a whole-document update of the
        current document with that value. A value the schema refuses raises `ConfigRejected` with the field
        path (`trading.profit_target: Input should be greater than 0`) and nothing changes; the running
        config stays valid. The next document from the source replaces the whole document, this value too.
        """
        async with self._lock:
            document, config = self.with_value(path, value)
            return await self._apply(config, document, None, origin)

    def reject(self, reason: str, *, origin: str, generation: int | None = None) -> None:
        """Record a document that could not even be read (bad JSON/YAML) as a rejection."""
        self._reject((FieldError("", reason),), origin, generation)

    async def _apply(
        self, config: BotConfig, document: Mapping[str, Any], generation: int | None, origin: str
    ) -> UpdateResult:
        state = self._state
        state.document = dict(document)
        changes = diff(state.config, config)
        first = not state.loaded
        if generation is None:
            generation = state.generation + 1 if changes or first else state.generation
        state.valid = True
        self._metrics.valid.set(1)
        if not changes and generation == state.generation and not first:
            return UpdateResult(True, generation)
        state.config, state.generation, state.origin, state.updated_at = (
            config,
            generation,
            origin,
            time.time(),
        )
        if first:
            state.loaded, state.baseline = True, config
        state.restart_required = restart_required(state.baseline, config, self.component)
        self._metrics.generation.set(generation)
        self._metrics.restart_required.set(len(state.restart_required))
        if changes:
            self._metrics.applied.inc()
        self._log_applied(changes, generation, origin, first)
        for change in changes:
            for subscriber in list(self._subscribers):
                if subscriber.wants(change.path):
                    await self._notify(subscriber.callback, change.path, change.old, change.new)
        for callback in list(self._applied):
            await self._notify(callback, generation)
        return UpdateResult(True, generation, tuple(changes))

    async def _notify(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            await call_hook(callback, *args)
        except Exception as exc:
            path = args[0] if len(args) == 3 else "generation"
            log.exception("config subscriber %r failed on %s: %s", callback, path, describe_error(exc))

    def _reject(self, errors: Sequence[FieldError], origin: str, generation: int | None) -> None:
        state = self._state
        state.valid = False
        state.last_error = Rejection(time.time(), origin, generation, tuple(errors))
        self._metrics.valid.set(0)
        self._metrics.rejected.inc()
        log.error(
            "config from %s rejected (generation %s), keeping generation %d: %s",
            origin,
            generation if generation is not None else "-",
            state.generation,
            "; ".join(str(error) for error in errors),
            extra={"errors": [e.to_dict() for e in errors], "rejected_generation": generation},
        )

    def _log_applied(self, changes: Sequence[Change], generation: int, origin: str, first: bool) -> None:
        if first:
            log.info(
                "config generation %d loaded from %s", generation, origin, extra={"generation": generation}
            )
            return
        text = (
            ", ".join(f"{c.path}: {show(c.path, c.old)!r} -> {show(c.path, c.new)!r}" for c in changes)
            or "no field changed"
        )
        log.info(
            "config generation %d applied from %s: %s",
            generation,
            origin,
            text,
            extra={"generation": generation, "changes": [c.shown() for c in changes]},
        )
        for change in changes:
            if change.path in self._state.restart_required:
                log.warning(
                    "%s is a restart field (%s read it); the change takes full effect after a restart",
                    change.path,
                    ", ".join(sorted(POLICIES[change.path].readers)),
                )
