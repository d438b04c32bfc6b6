"""Fixtures for e2e tests that run real component processes against the local API server."""

from tests.integration.components.process import components

__all__ = ["components"]
