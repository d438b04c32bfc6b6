"""Dependency injection for a component process: register by interface, resolve by type.

Singletons live as long as the container, scoped services as long as an `async with container.scope()`
block, transients are new on every resolve. Construction injects constructor (or factory) parameters by
their annotations, runs the async init after the dependencies are ready, and disposal runs in reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar, cast

from tradingbot_components.runtime.invocation import call_hook, describe_error
from tradingbot_components.runtime.registrations import (
    ContainerError,
    Lifetime,
    Registration,
    RegistrationError,
    ScopeError,
    injected,
    make_registration,
    type_name,
    verify_resolvable,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


class DisposalError(ExceptionGroup[Exception]):
    """Some services failed to dispose; every other service was still disposed."""


@dataclass
class _Instances:
    """The instances one owner (the container or a scope) created and must dispose."""

    owner: str
    cached: dict[Any, Any] = field(default_factory=dict)
    locks: dict[Any, asyncio.Lock] = field(default_factory=dict)
    created: list[tuple[Registration, Any]] = field(default_factory=list)
    disposed: bool = False

    async def dispose(self) -> None:
        if self.disposed:
            return
        self.disposed = True
        errors: list[Exception] = []
        while self.created:
            registration, instance = self.created.pop()
            method = cast(str, registration.dispose_method)
            try:
                await call_hook(getattr(instance, method))
            except Exception as exc:
                exc.add_note(f"while disposing {registration.describes} (via {method!r})")
                log.warning("failed to dispose %s: %s", registration.describes, describe_error(exc))
                errors.append(exc)
        self.cached.clear()
        if errors:
            raise DisposalError(f"{len(errors)} service(s) failed to dispose in {self.owner}", errors)


class _Resolver:
    """Resolution shared by the container and its scopes: `scope` is None at the root."""

    def __init__(self, container: Container, scope: _Instances | None) -> None:
        self._container = container
        self._scope = scope

    async def resolve(self, key: Any) -> Any:
        container = self._container
        if container._root.disposed:
            raise ContainerError(f"cannot resolve {type_name(key)}: the container was disposed")
        if self._scope is not None and self._scope.disposed:
            raise ScopeError(f"cannot resolve {type_name(key)}: the scope has exited")
        container._verify(key, in_scope=self._scope is not None)
        return await self._get(key)

    async def _get(self, key: Any) -> Any:
        registration = self._container._registrations[key]
        if registration.lifetime is Lifetime.SINGLETON:
            # Singletons only see singletons (verified), so they are built from the root.
            return await _Resolver(self._container, None)._cached(self._container._root, registration)
        if registration.lifetime is Lifetime.SCOPED:
            assert self._scope is not None, "verified: scoped services are resolved inside a scope"
            return await self._cached(self._scope, registration)
        return await self._create(registration, self._scope or self._container._root)

    async def _cached(self, owner: _Instances, registration: Registration) -> Any:
        key = registration.key
        if key in owner.cached:
            return owner.cached[key]
        lock = owner.locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in owner.cached:  # a concurrent resolve may have built it while we waited
                owner.cached[key] = await self._create(registration, owner)
            return owner.cached[key]

    async def _create(self, registration: Registration, owner: _Instances) -> Any:
        registrations = self._container._registrations
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for dependency in injected(registration, registrations):
            value = await self._get(dependency.key)
            if dependency.positional_only:
                args.append(value)
            else:
                kwargs[dependency.parameter] = value
        try:
            instance = await call_hook(registration.provider, *args, **kwargs)
            if registration.init_method is not None:
                await call_hook(_method(instance, registration.init_method, "init_method", registration))
        except Exception as exc:
            exc.add_note(f"while creating {registration.describes}")
            raise
        if registration.dispose_method is not None:
            _method(instance, registration.dispose_method, "dispose_method", registration)
            owner.created.append((registration, instance))
        return instance


def _method(instance: Any, name: str, role: str, registration: Registration) -> Callable[[], Any]:
    method = getattr(instance, name, None)
    if not callable(method):
        raise RegistrationError(
            f"{type_name(type(instance))} made for {registration.describes} has no method {name!r} ({role})"
        )
    return cast(Callable[[], Any], method)


class Scope:
    """A unit of work: scoped services are shared inside it and disposed when it exits."""

    def __init__(self, container: Container) -> None:
        self._instances = _Instances(owner="scope")
        self._resolver = _Resolver(container, self._instances)

    async def resolve(self, iface: type[T]) -> T:
        return cast(T, await self._resolver.resolve(iface))

    async def dispose(self) -> None:
        await self._instances.dispose()

    async def __aenter__(self) -> Scope:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.dispose()


class Container:
    """Register services by interface, then `await container.resolve(Interface)`."""

    def __init__(self) -> None:
        self._registrations: dict[Any, Registration] = {}
        self._verified: set[tuple[Any, bool]] = set()
        self._root = _Instances(owner="container")
        self._resolver = _Resolver(self, None)

    def register_singleton(
        self,
        iface: Any,
        impl_or_factory: Callable[..., Any] | None = None,
        *,
        init_method: str | None = None,
        dispose_method: str | None = None,
    ) -> None:
        """One instance for the container's life, created on first resolve."""
        self._register(iface, impl_or_factory, Lifetime.SINGLETON, init_method, dispose_method)

    def register_scoped(
        self,
        iface: Any,
        impl_or_factory: Callable[..., Any] | None = None,
        *,
        init_method: str | None = None,
        dispose_method: str | None = None,
    ) -> None:
        """One instance per `container.scope()`; resolving it outside a scope is an error."""
        self._register(iface, impl_or_factory, Lifetime.SCOPED, init_method, dispose_method)

    def register_transient(
        self,
        iface: Any,
        impl_or_factory: Callable[..., Any] | None = None,
        *,
        init_method: str | None = None,
        dispose_method: str | None = None,
    ) -> None:
        """A new instance on every resolve, disposed by the scope (or container) that resolved it."""
        self._register(iface, impl_or_factory, Lifetime.TRANSIENT, init_method, dispose_method)

    def register_instance(self, iface: Any, instance: object) -> None:
        """An object built elsewhere, served as a singleton; the container does not dispose it."""
        self._register(iface, lambda: instance, Lifetime.SINGLETON, None, None)

    def is_registered(self, iface: Any) -> bool:
        return iface in self._registrations

    def describe(self) -> list[dict[str, Any]]:
        """Each registration (service, lifetime, whether its singleton exists yet), for `/debug`."""
        return [
            {
                "service": type_name(key),
                "lifetime": str(registration.lifetime),
                "created": key in self._root.cached,
            }
            for key, registration in self._registrations.items()
        ]

    async def resolve(self, iface: type[T]) -> T:
        """The instance for `iface`, building (and initialising) what it needs first."""
        return cast(T, await self._resolver.resolve(iface))

    def scope(self) -> Scope:
        return Scope(self)

    async def dispose(self) -> None:
        """Dispose singletons and root-resolved transients in reverse creation order."""
        await self._root.dispose()

    async def __aenter__(self) -> Container:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.dispose()

    def _register(
        self,
        iface: Any,
        provider: Callable[..., Any] | None,
        lifetime: Lifetime,
        init_method: str | None,
        dispose_method: str | None,
    ) -> None:
        if self._root.disposed:
            raise ContainerError(f"cannot register {type_name(iface)}: the container was disposed")
        registration = make_registration(
            iface,
            iface if provider is None else provider,
            lifetime,
            init_method=init_method,
            dispose_method=dispose_method,
        )
        self._registrations[iface] = registration  # the last registration wins (handy for test doubles)
        self._verified.clear()

    def _verify(self, key: Any, *, in_scope: bool) -> None:
        if (key, in_scope) not in self._verified:
            verify_resolvable(self._registrations, key, in_scope=in_scope)
            self._verified.add((key, in_scope))
