"""The embedding API's `update_config` refuses a bad value through the components' own ConfigManager (one
validation path): the error names the field, and the runner is never asked to change anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tradingbot_components.config.manager import ConfigRejected
from tradingbot_operator.local.orchestrator import Orchestrator


class RecordingRunner:
    def __init__(self) -> None:
        self.overrides: list[tuple[str, Any]] = []
        self.config_generation = 1
        self.generation = 1

    def set_override(self, path: str, value: Any) -> None:
        self.overrides.append((path, value))


class Session:
    def __init__(self) -> None:
        self.runner = RecordingRunner()


@pytest.fixture
def bot(tmp_path: Path) -> Orchestrator:
    config = tmp_path / "bot.json"
    config.write_text('{"trading": {"profit_target": 0.006}}')
    orchestrator = Orchestrator.from_file(config, state_dir=tmp_path / "state")
    orchestrator._session = Session()  # type: ignore[assignment]
    return orchestrator


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("trading.profit_target", 0, r"trading\.profit_target: Input should be greater than 0"),
        ("trading.profit_target", 3, r"trading\.profit_target: Input should be less than 1"),
        ("system.debug", "maybe", r"system\.debug: Input should be a valid boolean"),
    ],
)
async def test_a_bad_value_is_refused_with_the_field_path(
    bot: Orchestrator, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigRejected, match=message):
        await bot.update_config(path, value)
    runner = bot.session.runner
    assert isinstance(runner, RecordingRunner) and runner.overrides == []


async def test_a_good_value_reaches_the_runner(bot: Orchestrator) -> None:
    generation = await bot.update_config("system.debug", True)
    runner = bot.session.runner
    assert isinstance(runner, RecordingRunner)
    assert runner.overrides == [("system.debug", True)]
    assert generation == 1  # the stub runner's spec did not move: the value counts as already in force
