"""The startup sequence: phases, dependencies, retries, timeouts, rollback, skipping and shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tradingbot_components.runtime import (
    Phase,
    StartupConfigError,
    StartupFailed,
    StartupSequence,
    StepState,
    StepTimeout,
)


class Recorder:
    """Hands out step handlers that write what happened to `events`."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self, name: str) -> Callable[[], object]:
        async def handler() -> None:
            self.events.append(f"start {name}")
            await asyncio.sleep(0)

        return handler

    def stop(self, name: str) -> Callable[[], object]:
        async def handler() -> None:
            self.events.append(f"stop {name}")

        return handler

    def failing(self, name: str, error: Exception) -> Callable[[], object]:
        async def handler() -> None:
            self.events.append(f"start {name}")
            raise error

        return handler


def fast_sequence() -> StartupSequence:
    return StartupSequence(backoff_base=0.001, backoff_max=0.01, rollback_grace=2.0)


def step(seq: StartupSequence, rec: Recorder, name: str, phase: Phase, *deps: str, **options: object) -> None:
    seq.register_step(
        name,
        phase,
        rec.start(name),
        dependencies=deps,
        shutdown=rec.stop(name),
        **options,  # type: ignore[arg-type]
    )


async def test_phases_run_in_order_whatever_the_registration_order() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "trader", Phase.SERVICES)
    step(seq, rec, "gateway", Phase.NETWORK)
    step(seq, rec, "auth", Phase.AUTH)
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)

    await seq.start()

    assert rec.events == ["start storage", "start auth", "start gateway", "start trader"]
    assert seq.completed == ("storage", "auth", "gateway", "trader")


async def test_steps_of_a_phase_run_concurrently_and_respect_their_dependencies() -> None:
    seq, rec = fast_sequence(), Recorder()
    both_running = asyncio.Barrier(2)  # passes only when gateway and market-data run at the same time

    async def meet(name: str) -> None:
        rec.events.append(f"start {name}")
        await asyncio.wait_for(both_running.wait(), timeout=5)

    seq.register_step("gateway", Phase.NETWORK, lambda: meet("gateway"))
    seq.register_step("market-data", Phase.NETWORK, lambda: meet("market-data"))
    step(seq, rec, "books", Phase.NETWORK, "market-data")

    await seq.start()

    assert rec.events[-1] == "start books"
    assert set(rec.events[:2]) == {"start gateway", "start market-data"}


async def test_a_step_is_retried_with_backoff_until_it_succeeds() -> None:
    seq = fast_sequence()
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("exchange not reachable yet")

    seq.register_step("gateway", Phase.NETWORK, flaky, retries=2)
    await seq.start()

    status = seq.status()["gateway"]
    assert (status.state, status.attempts, calls) == (StepState.DONE, 3, 3)


async def test_each_attempt_is_bounded_by_the_timeout() -> None:
    seq = fast_sequence()

    async def hangs() -> None:
        await asyncio.Event().wait()

    seq.register_step("auth", Phase.AUTH, hangs, retries=1, timeout=0.05)

    with pytest.raises(StartupFailed) as caught:
        await seq.start()
    assert isinstance(caught.value.cause, StepTimeout)
    assert caught.value.attempts == 2
    assert "step 'auth' (Auth) after 2 attempts: StepTimeout: attempt 2 timed out after 0.05s" in str(
        caught.value
    )


async def test_a_critical_failure_rolls_back_completed_steps_in_reverse_order() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)
    step(seq, rec, "exchange-sim", Phase.INFRASTRUCTURE, "storage")
    step(seq, rec, "auth", Phase.AUTH)
    seq.register_step("gateway", Phase.NETWORK, rec.failing("gateway", PermissionError("invalid API key")))
    step(seq, rec, "trader", Phase.SERVICES)

    with pytest.raises(StartupFailed) as caught:
        await seq.start()

    assert caught.value.step == "gateway"
    assert str(caught.value) == (
        "startup failed at step 'gateway' (Network) on its only attempt: PermissionError: invalid API key; "
        "rolled back: auth, exchange-sim, storage"
    )
    assert rec.events[-3:] == ["stop auth", "stop exchange-sim", "stop storage"]
    assert "start trader" not in rec.events
    states = {name: s.state for name, s in seq.status().items()}
    assert states == {
        "storage": StepState.STOPPED,
        "exchange-sim": StepState.STOPPED,
        "auth": StepState.STOPPED,
        "gateway": StepState.FAILED,
        "trader": StepState.PENDING,
    }


async def test_a_critical_failure_cancels_the_steps_still_running_in_its_phase() -> None:
    seq = fast_sequence()
    seq.register_step("market-data", Phase.NETWORK, lambda: asyncio.Event().wait())
    seq.register_step("gateway", Phase.NETWORK, _raises(OSError("no route to host")))

    with pytest.raises(StartupFailed, match="at step 'gateway'"):
        await seq.start()
    status = seq.status()["market-data"]
    assert (status.state, status.error) == (StepState.FAILED, "cancelled: startup failed at 'gateway'")


async def test_a_non_critical_failure_is_recorded_and_its_dependents_are_skipped() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)
    seq.register_step(
        "metrics-push", Phase.INFRASTRUCTURE, _raises(TimeoutError("pushgateway")), critical=False
    )
    step(seq, rec, "exporter", Phase.NETWORK, "metrics-push")
    step(seq, rec, "dashboard", Phase.SERVICES, "exporter")
    step(seq, rec, "trader", Phase.SERVICES, "storage")

    await seq.start()

    status = seq.status()
    assert status["metrics-push"].state is StepState.FAILED
    assert status["metrics-push"].error == "TimeoutError: pushgateway"
    assert status["exporter"].state is StepState.SKIPPED
    assert status["exporter"].error == "skipped: dependency 'metrics-push' did not start"
    assert status["dashboard"].error == "skipped: dependency 'exporter' did not start"
    assert seq.completed == ("storage", "trader")


async def test_shutdown_stops_completed_steps_in_reverse_order() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)
    step(seq, rec, "auth", Phase.AUTH)
    step(seq, rec, "trader", Phase.SERVICES)
    await seq.start()

    report = await seq.shutdown(grace_period=5)

    assert report.stopped == ("trader", "auth", "storage")
    assert report.clean
    assert rec.events[-3:] == ["stop trader", "stop auth", "stop storage"]


async def test_shutdown_reports_steps_still_running_at_the_deadline() -> None:
    seq, rec = fast_sequence(), Recorder()
    seq.register_step(
        "storage", Phase.INFRASTRUCTURE, rec.start("storage"), shutdown=lambda: asyncio.Event().wait()
    )
    step(seq, rec, "auth", Phase.AUTH)
    step(seq, rec, "trader", Phase.SERVICES)
    await seq.start()

    report = await seq.shutdown(grace_period=0.1)

    assert report.stopped == ("trader", "auth")
    assert report.unfinished == ("storage",)
    assert not report.clean


async def test_status_snapshot_is_plain_data() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)
    await seq.start()

    [entry] = seq.snapshot()["steps"]
    assert entry["state"] == "done"
    assert entry["attempts"] == 1
    assert entry["duration"] >= 0


# -- declarations that cannot run ------------------------------------------------------------------


async def test_a_dependency_on_a_later_phase_is_rejected() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE, "gateway")
    step(seq, rec, "gateway", Phase.NETWORK)

    with pytest.raises(
        StartupConfigError, match=r"'storage' \(Infrastructure\) depends on 'gateway'.*later phase"
    ):
        await seq.start()
    assert rec.events == []


async def test_an_unknown_dependency_is_rejected() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "trader", Phase.SERVICES, "portfolioo")

    with pytest.raises(StartupConfigError, match="'trader' depends on unknown step 'portfolioo'"):
        await seq.start()


async def test_a_cycle_is_rejected_with_its_path() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "gateway", Phase.NETWORK, "market-data")
    step(seq, rec, "market-data", Phase.NETWORK, "books")
    step(seq, rec, "books", Phase.NETWORK, "gateway")

    with pytest.raises(
        StartupConfigError, match="dependency cycle: books -> gateway -> market-data -> books"
    ):
        await seq.start()


def test_an_unknown_phase_is_rejected_at_registration() -> None:
    with pytest.raises(StartupConfigError, match="unknown phase 'Network2'"):
        fast_sequence().register_step("gateway", "Network2", Recorder().start("gateway"))


async def test_custom_phases_are_run_in_the_given_order() -> None:
    seq, rec = StartupSequence(["boot", "serve"], backoff_base=0), Recorder()
    seq.register_step("http", "serve", rec.start("http"))
    seq.register_step("config", "boot", rec.start("config"))
    await seq.start()
    assert rec.events == ["start config", "start http"]


def _raises(error: Exception) -> Callable[[], object]:
    async def handler() -> None:
        raise error

    return handler


async def test_shutdown_during_startup_cancels_it_and_stops_what_came_up() -> None:
    seq, rec = fast_sequence(), Recorder()
    step(seq, rec, "storage", Phase.INFRASTRUCTURE)
    entered = asyncio.Event()

    async def slow_auth() -> None:
        entered.set()
        await asyncio.Event().wait()

    seq.register_step("auth", Phase.AUTH, slow_auth)
    starting = asyncio.create_task(seq.start())
    await asyncio.wait_for(entered.wait(), timeout=5)

    report = await seq.shutdown(grace_period=5)

    assert starting.cancelled()
    assert report.stopped == ("storage",)
    assert seq.status()["auth"].error == "startup was cancelled"
