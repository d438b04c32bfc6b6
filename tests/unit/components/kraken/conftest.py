"""Fixtures for the Kraken library tests: virtual time and the recorded book stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.components.kraken.fakes import FakeTime

RECORDING = Path(__file__).parent / "data" / "kraken-ws-v2-book-btcusd.json"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def recording_path() -> Path:
    return RECORDING
