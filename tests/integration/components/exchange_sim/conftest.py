"""Fixtures for the exchange simulator's integration tests: real `exchange-sim` processes."""

from tests.support.sim import sim_factory

__all__ = ["sim_factory"]
