"""The DI container: lifetimes, injection, init/dispose order, graph errors, concurrency."""

from __future__ import annotations

import asyncio
from typing import Protocol

import pytest

from tradingbot_components.runtime import (
    Container,
    DependencyCycleError,
    DisposalError,
    MissingRegistrationError,
    RegistrationError,
    ScopeError,
)

# -- a small service graph: OrderStore needs a Database, both record their life in `journal` -------

journal: list[str] = []


@pytest.fixture(autouse=True)
def _clear_journal() -> None:
    journal.clear()


class Database:
    def __init__(self) -> None:
        self.connected = False

    async def connect(self) -> None:
        journal.append("init Database")
        self.connected = True

    async def aclose(self) -> None:
        journal.append("dispose Database")


class OrderStore:
    def __init__(self, db: Database) -> None:
        assert db.connected, "dependencies are initialised before their dependents are built"
        self.db = db

    async def start(self) -> None:
        journal.append("init OrderStore")

    def close(self) -> None:
        journal.append("dispose OrderStore")


class Clock(Protocol):
    def now(self) -> float: ...


class FixedClock:
    def now(self) -> float:
        return 42.0


class Request:
    """A scoped unit of work."""

    def close(self) -> None:
        journal.append(f"dispose Request {id(self)}")


class Handler:
    def __init__(self, request: Request, store: OrderStore) -> None:
        self.request, self.store = request, store


def full_container() -> Container:
    container = Container()
    container.register_singleton(Database, init_method="connect", dispose_method="aclose")
    container.register_singleton(OrderStore, init_method="start", dispose_method="close")
    return container


# -- lifetimes -------------------------------------------------------------------------------------


async def test_singleton_is_the_same_instance_every_time() -> None:
    container = full_container()
    first = await container.resolve(OrderStore)
    assert await container.resolve(OrderStore) is first
    assert await container.resolve(Database) is first.db


async def test_transient_is_new_on_every_resolve() -> None:
    container = Container()
    container.register_transient(FixedClock)
    assert await container.resolve(FixedClock) is not await container.resolve(FixedClock)


async def test_scoped_is_shared_inside_a_scope_and_fresh_in_the_next() -> None:
    container = full_container()
    container.register_scoped(Request, dispose_method="close")
    container.register_transient(Handler)

    async with container.scope() as scope:
        handler = await scope.resolve(Handler)
        assert await scope.resolve(Request) is handler.request
        assert (await scope.resolve(Handler)).request is handler.request
    async with container.scope() as other:
        assert await other.resolve(Request) is not handler.request

    assert journal.count(f"dispose Request {id(handler.request)}") == 1


async def test_scoped_service_outside_a_scope_is_an_error() -> None:
    container = Container()
    container.register_scoped(Request)
    container.register_transient(Handler)
    container.register_singleton(OrderStore)
    container.register_singleton(Database)

    with pytest.raises(ScopeError, match=r"Request is scoped: resolve it inside `async with container.scope"):
        await container.resolve(Request)
    with pytest.raises(ScopeError, match=r"Request is scoped \(via Handler -> Request\)"):
        await container.resolve(Handler)


async def test_a_singleton_cannot_capture_a_scoped_service() -> None:
    container = Container()
    container.register_scoped(Request)
    container.register_singleton(Handler)
    container.register_singleton(OrderStore)
    container.register_singleton(Database)

    async with container.scope() as scope:
        with pytest.raises(ScopeError, match="singleton Handler cannot depend on scoped Request"):
            await scope.resolve(Handler)


async def test_resolving_from_an_exited_scope_is_an_error() -> None:
    container = Container()
    container.register_scoped(Request)
    async with container.scope() as scope:
        pass
    with pytest.raises(ScopeError, match="the scope has exited"):
        await scope.resolve(Request)


# -- init and dispose order ------------------------------------------------------------------------


async def test_init_runs_dependencies_first_and_dispose_runs_in_reverse() -> None:
    container = full_container()
    await container.resolve(OrderStore)
    await container.dispose()

    assert journal == ["init Database", "init OrderStore", "dispose OrderStore", "dispose Database"]


async def test_dispose_continues_past_failures_and_reports_them() -> None:
    class Fragile:
        def close(self) -> None:
            raise RuntimeError("socket already gone")

    container = full_container()
    container.register_singleton(Fragile, dispose_method="close")
    await container.resolve(OrderStore)
    await container.resolve(Fragile)

    with pytest.raises(DisposalError) as caught:
        await container.dispose()
    assert [str(e) for e in caught.value.exceptions] == ["socket already gone"]
    assert journal[-2:] == ["dispose OrderStore", "dispose Database"]


async def test_container_is_an_async_context_manager() -> None:
    async with full_container() as container:
        await container.resolve(OrderStore)
    assert journal[-1] == "dispose Database"


# -- factories and interfaces ----------------------------------------------------------------------


async def test_async_factory_gets_its_parameters_injected() -> None:
    async def make_store(db: Database) -> OrderStore:
        await asyncio.sleep(0)
        return OrderStore(db)

    container = Container()
    container.register_singleton(Database, init_method="connect")
    container.register_singleton(OrderStore, make_store)

    store = await container.resolve(OrderStore)
    assert store.db is await container.resolve(Database)


async def test_resolve_by_protocol_with_an_implementation_class() -> None:
    container = Container()
    container.register_singleton(Clock, FixedClock)
    clock = await container.resolve(Clock)  # type: ignore[type-abstract]
    assert clock.now() == 42.0


async def test_an_optional_parameter_keeps_its_default_when_nothing_is_registered() -> None:
    class Tuned:
        def __init__(self, db: Database, retries: int = 3) -> None:
            self.db, self.retries = db, retries

    container = Container()
    container.register_singleton(Database)
    container.register_transient(Tuned)
    assert (await container.resolve(Tuned)).retries == 3


def test_an_unannotated_parameter_is_rejected_at_registration() -> None:
    class Vague:
        def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
            self.db = db

    with pytest.raises(RegistrationError, match=r"cannot inject parameter 'db' of .*Vague: it has no type"):
        Container().register_singleton(Vague)


def test_a_missing_init_method_is_rejected_at_registration() -> None:
    with pytest.raises(RegistrationError, match="Database has no method 'open' \\(init_method\\)"):
        Container().register_singleton(Database, init_method="open")


# -- graph errors ----------------------------------------------------------------------------------


async def test_missing_registration_names_what_needed_it() -> None:
    container = Container()
    container.register_singleton(OrderStore)

    with pytest.raises(MissingRegistrationError) as caught:
        await container.resolve(OrderStore)
    assert str(caught.value) == "no registration for Database (needed by OrderStore)"


async def test_missing_registration_deeper_down_shows_the_path() -> None:
    container = Container()
    container.register_scoped(Request)
    container.register_transient(Handler)
    container.register_singleton(OrderStore)

    async with container.scope() as scope:
        with pytest.raises(
            MissingRegistrationError, match=r"resolution path: Handler -> OrderStore -> Database"
        ):
            await scope.resolve(Handler)


class CycleA:
    def __init__(self, b: CycleB) -> None: ...


class CycleB:
    def __init__(self, c: CycleC) -> None: ...


class CycleC:
    def __init__(self, a: CycleA) -> None: ...


async def test_a_cycle_is_reported_with_its_path_before_anything_is_built() -> None:
    container = Container()
    for cls in (CycleA, CycleB, CycleC):
        container.register_singleton(cls)

    with pytest.raises(DependencyCycleError) as caught:
        await container.resolve(CycleB)
    assert str(caught.value) == "dependency cycle: CycleB -> CycleC -> CycleA -> CycleB"
    assert caught.value.path == [CycleB, CycleC, CycleA, CycleB]


built: list[str] = []


class Top:
    def __init__(self, left: Left, right: Right) -> None:
        self.left, self.right = left, right


class Left:
    def __init__(self, bottom: Bottom) -> None:
        self.bottom = bottom


class Right:
    def __init__(self, bottom: Bottom) -> None:
        self.bottom = bottom


class Bottom:
    def __init__(self) -> None:
        built.append("Bottom")


async def test_a_diamond_is_not_a_cycle_and_shares_one_singleton() -> None:
    built.clear()
    container = Container()
    for cls in (Top, Left, Right, Bottom):
        container.register_singleton(cls)

    top = await container.resolve(Top)
    assert top.left.bottom is top.right.bottom
    assert built == ["Bottom"]


# -- concurrency -----------------------------------------------------------------------------------


async def test_concurrent_resolves_of_a_singleton_create_it_once() -> None:
    created = 0
    release = asyncio.Event()

    async def slow_database() -> Database:
        nonlocal created
        created += 1
        await release.wait()  # every resolver is inside resolve() before the first one finishes
        return Database()

    container = Container()
    container.register_singleton(Database, slow_database)

    async def connected() -> Database:
        db = await container.resolve(Database)
        db.connected = True
        return db

    resolves = [asyncio.create_task(connected()) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    instances = await asyncio.gather(*resolves)

    assert created == 1
    assert all(instance is instances[0] for instance in instances)


async def test_a_failed_singleton_is_not_cached_and_the_error_says_what_was_being_built() -> None:
    attempts = 0

    def flaky() -> Database:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database is starting")
        return Database()

    container = Container()
    container.register_singleton(Database, flaky)
    container.register_singleton(OrderStore)

    with pytest.raises(ConnectionError) as caught:
        await container.resolve(OrderStore)
    assert "while creating singleton Database" in caught.value.__notes__
    assert isinstance(await container.resolve(Database), Database)
