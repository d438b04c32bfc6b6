"""Fixtures for the market data tests: the recorded Kraken book stream and a recording stream sink."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tradingbot_components.market_data.stream_messages import Channel

RECORDING = Path(__file__).parents[1] / "kraken" / "data" / "kraken-ws-v2-book-btcusd.json"


class RecordingSink:
    """A `StreamSink` that keeps what was published; `wanted` picks the channels it claims to read."""

    def __init__(self, wanted: set[Channel] | None = None) -> None:
        self.wanted = set(Channel) if wanted is None else wanted
        self.messages: list[tuple[Channel | None, str, dict[str, Any]]] = []

    def wants(self, channel: Channel, pair: str) -> bool:
        return channel in self.wanted

    def publish(self, channel: Channel | None, pair: str, message: Mapping[str, Any]) -> None:
        self.messages.append((channel, pair, dict(message)))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for _, _, m in self.messages if m["type"] == kind]


@pytest.fixture
def recording_path() -> Path:
    return RECORDING


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()
