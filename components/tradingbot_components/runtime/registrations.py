"""What the container was told: registrations, the dependencies read from their signatures, and the checks.

Everything here is computed without constructing anything, so a bad graph (a cycle, a missing
registration, a singleton holding a scoped service) is reported before a single object exists.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tradingbot_components.runtime.graph import find_cycle, format_path


class Lifetime(enum.StrEnum):
    SINGLETON = "singleton"
    SCOPED = "scoped"
    TRANSIENT = "transient"


class ContainerError(Exception):
    """Base of every error the container raises about its own configuration or use."""


class RegistrationError(ContainerError):
    """A registration cannot work: an unannotated parameter, a missing init or dispose method."""


class MissingRegistrationError(ContainerError):
    def __init__(self, key: Any, needed_by: Any | None, path: list[Any]) -> None:
        self.key, self.needed_by, self.path = key, needed_by, path
        message = f"no registration for {type_name(key)}"
        if needed_by is not None:
            message += f" (needed by {type_name(needed_by)})"
        if len(path) > 2:
            message += f"; resolution path: {format_path(path, type_name)}"
        super().__init__(message)


class DependencyCycleError(ContainerError):
    def __init__(self, path: list[Any]) -> None:
        self.path = path
        super().__init__(f"dependency cycle: {format_path(path, type_name)}")


class ScopeError(ContainerError):
    """A scoped service was asked for outside a scope, or captured by a singleton."""


def type_name(key: object) -> str:
    """`OrderStore` for classes, the repr for anything else (`list[int]`, a Protocol alias...)."""
    if isinstance(key, type):
        return key.__qualname__
    return getattr(key, "__qualname__", None) or repr(key)


@dataclass(frozen=True)
class Dependency:
    """One constructor or factory parameter to inject, by its annotated type."""

    parameter: str
    key: Any
    optional: bool  # has a default: left to it when nothing is registered for `key`
    positional_only: bool


@dataclass(frozen=True)
class Registration:
    key: Any
    lifetime: Lifetime
    provider: Callable[..., Any]  # a class or a (sync or async) factory
    dependencies: tuple[Dependency, ...]
    init_method: str | None = None
    dispose_method: str | None = None

    @property
    def describes(self) -> str:
        return f"{self.lifetime} {type_name(self.key)}"


def make_registration(
    key: Any,
    provider: Callable[..., Any],
    lifetime: Lifetime,
    *,
    init_method: str | None,
    dispose_method: str | None,
) -> Registration:
    if not callable(provider):
        raise RegistrationError(
            f"{type_name(key)}: expected a class or a factory, got {provider!r} (use register_instance)"
        )
    if isinstance(provider, type):
        for role, method in (("init_method", init_method), ("dispose_method", dispose_method)):
            if method is not None and not callable(getattr(provider, method, None)):
                raise RegistrationError(f"{type_name(provider)} has no method {method!r} ({role})")
    return Registration(
        key=key,
        lifetime=lifetime,
        provider=provider,
        dependencies=read_dependencies(provider),
        init_method=init_method,
        dispose_method=dispose_method,
    )


def read_dependencies(provider: Callable[..., Any]) -> tuple[Dependency, ...]:
    """The injectable parameters of a class constructor or a factory, from its type annotations."""
    target: Any = provider.__init__ if isinstance(provider, type) else provider  # type: ignore[misc]
    if target is object.__init__:
        return ()
    try:
        hints = typing.get_type_hints(target)
        signature = inspect.signature(provider)
    except (NameError, TypeError, ValueError) as exc:
        raise RegistrationError(
            f"cannot read the parameter annotations of {type_name(provider)}: {exc} "
            "(annotations must name types importable from the module, not locals of a function)"
        ) from exc

    dependencies: list[Dependency] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        optional = parameter.default is not inspect.Parameter.empty
        if parameter.name not in hints:
            if optional:
                continue
            raise RegistrationError(
                f"cannot inject parameter {parameter.name!r} of {type_name(provider)}: "
                "it has no type annotation (annotate it or give it a default)"
            )
        dependencies.append(
            Dependency(
                parameter=parameter.name,
                key=hints[parameter.name],
                optional=optional,
                positional_only=parameter.kind is inspect.Parameter.POSITIONAL_ONLY,
            )
        )
    return tuple(dependencies)


def injected(registration: Registration, registrations: Mapping[Any, Registration]) -> list[Dependency]:
    """The dependencies that will actually be resolved (optional ones only when registered)."""
    return [d for d in registration.dependencies if not d.optional or d.key in registrations]


def verify_resolvable(registrations: Mapping[Any, Registration], root: Any, *, in_scope: bool) -> None:
    """Raise the error a resolution of `root` would hit, before anything is constructed.

    Checks, in order: every needed registration exists, the graph has no cycle, no singleton
    depends (even through transients) on a scoped service, and scoped services are only reached
    from inside a scope.
    """
    if root not in registrations:
        raise MissingRegistrationError(root, None, [root])

    parent: dict[Any, Any] = {root: None}
    edges: dict[Any, list[Any]] = {}
    pending = [root]
    while pending:
        key = pending.pop()
        edges[key] = []
        for dependency in injected(registrations[key], registrations):
            if dependency.key not in registrations:
                raise MissingRegistrationError(dependency.key, key, [*_path_to(parent, key), dependency.key])
            edges[key].append(dependency.key)
            if dependency.key not in parent:
                parent[dependency.key] = key
                pending.append(dependency.key)

    cycle = find_cycle([root], lambda k: edges[k])
    if cycle is not None:
        raise DependencyCycleError(cycle)

    scoped_path = _scoped_paths(registrations, edges)
    for key, path in scoped_path.items():
        if path is not None and registrations[key].lifetime is Lifetime.SINGLETON:
            raise ScopeError(
                f"singleton {type_name(key)} cannot depend on scoped {type_name(path[-1])} "
                f"({format_path(path, type_name)}): it would outlive the scope; "
                "make it scoped or transient, or depend on something longer-lived"
            )
    root_path = scoped_path[root]
    if not in_scope and root_path is not None:
        via = f" (via {format_path(root_path, type_name)})" if len(root_path) > 1 else ""
        raise ScopeError(
            f"{type_name(root_path[-1])} is scoped{via}: resolve it inside "
            "`async with container.scope() as scope: await scope.resolve(...)`"
        )


def _path_to(parent: Mapping[Any, Any], key: Any) -> list[Any]:
    path = [key]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


def _scoped_paths(
    registrations: Mapping[Any, Registration], edges: Mapping[Any, list[Any]]
) -> dict[Any, list[Any] | None]:
    """For each node of an acyclic graph: a path to the first scoped service it needs, or None."""
    memo: dict[Any, list[Any] | None] = {}

    def visit(key: Any) -> list[Any] | None:
        if key not in memo:
            found: list[Any] | None = None
            if registrations[key].lifetime is Lifetime.SCOPED:
                found = [key]
            else:
                for dependency in edges[key]:
                    below = visit(dependency)
                    if below is not None:
                        found = [key, *below]
                        break
            memo[key] = found
        return memo[key]

    for key in edges:
        visit(key)
    return memo
