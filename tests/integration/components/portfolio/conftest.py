"""Fixtures for the portfolio tests over real sockets: every process is stopped after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.components.portfolio.harness import PortfolioBot, start_portfolio_bot
from tests.integration.components.process import ComponentRunner, components

__all__ = ["components", "portfolio_bot"]


@pytest.fixture
def portfolio_bot(components: ComponentRunner, tmp_path: Path) -> Iterator[PortfolioBot]:
    bot = start_portfolio_bot(components, tmp_path)
    try:
        yield bot
    finally:
        bot.sim.stop()
