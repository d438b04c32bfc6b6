"""Fixtures for market data over real sockets: the exchange simulator and market-data processes."""

from tests.support.sim import sim_factory

__all__ = ["sim_factory"]
