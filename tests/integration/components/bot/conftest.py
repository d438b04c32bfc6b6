"""Fixtures for the whole-bot tests: every process is stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.bot.harness import Bot, start_bot
from tests.integration.components.process import ComponentRunner, components

__all__ = ["bot_factory", "components"]


@pytest.fixture
def bot_factory(components: ComponentRunner, tmp_path: Path) -> Iterator[Callable[..., Bot]]:
    started: list[Bot] = []

    def factory(**options: Any) -> Bot:
        bot = start_bot(components, tmp_path, **options)
        started.append(bot)
        return bot

    try:
        yield factory
    finally:
        for bot in started:
            bot.sim.stop()
