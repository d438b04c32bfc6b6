"""Fixtures for tests that run real component processes."""

from tests.integration.components.process import components

__all__ = ["components"]
