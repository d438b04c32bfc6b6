"""Fixtures for the balance-manager tests: the exchange path, the balance-manager and, when asked, a WS relay
between it and the simulator; every process and the relay are stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.integration.components.balance_manager.harness import Rig, start_manager
from tests.integration.components.balance_manager.ws_relay import WsRelay
from tests.integration.components.connectivity.stack import start_stack
from tests.integration.components.process import ComponentRunner, components

__all__ = ["components", "rig_factory"]


@pytest.fixture
def rig_factory(components: ComponentRunner, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    """`rig_factory(env=..., relay=True, wait=True, before=callable(stack))`."""
    stacks, relays = [], []

    def factory(
        *,
        env: Mapping[str, str] | None = None,
        relay: bool = False,
        wait: bool = True,
        before: Callable[..., None] | None = None,
    ) -> Rig:
        stack = start_stack(components, tmp_path)
        stacks.append(stack)
        ws_relay = None
        if relay:
            ws_relay = WsRelay(stack.sim.url_ws)
            relays.append(ws_relay)
            ws_relay.start()
        if before is not None:
            before(stack)
        manager = start_manager(stack, env=env, relay=ws_relay, wait=wait)
        return Rig(stack, manager, ws_relay)

    try:
        yield factory
    finally:
        for ws_relay in relays:
            ws_relay.stop()
        for stack in stacks:
            stack.sim.stop()
