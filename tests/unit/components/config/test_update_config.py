"""`ConfigManager.update_config(path, value)`: one field set on the current document, validated as a whole
document by the same `validate`, refused with the field path, and hot-applied like any update."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tradingbot_components.config.changes import POLICIES
from tradingbot_components.config.manager import ConfigManager, ConfigRejected
from tradingbot_components.config.paths import with_value
from tradingbot_components.config.schema import Reload


def manager(document: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> ConfigManager:
    return ConfigManager(document, environ=environ or {}, component="gateway", registry=CollectorRegistry())


def test_with_value_sets_one_path_in_a_copy() -> None:
    document = {"trading": {"profit_target": 0.005, "pairs": ["XBT/USD"]}}
    changed = with_value(document, "trading.profit_target", 0.007)
    assert changed == {"trading": {"profit_target": 0.007, "pairs": ["XBT/USD"]}}
    assert document["trading"]["profit_target"] == 0.005  # the original is untouched
    assert with_value({}, "system.debug", True) == {"system": {"debug": True}}
    with pytest.raises(ValueError, match="dotted config path"):
        with_value({}, "trading.", 1)


async def test_a_valid_value_is_applied_and_announced() -> None:
    config = manager({"trading": {"profit_target": 0.005, "max_position_size": 50.0}})
    seen: list[tuple[str, Any, Any]] = []
    config.subscribe(lambda path, old, new: seen.append((path, old, new)), prefix="trading")

    result = await config.update_config("trading.profit_target", 0.007)

    assert result.applied and result.generation == 2
    assert seen == [("trading.profit_target", 0.005, 0.007)]
    assert config.get("trading.profit_target") == 0.007
    assert config.get("trading.max_position_size") == 50.0  # the rest of the document stays
    assert config.document == {"trading": {"profit_target": 0.007, "max_position_size": 50.0}}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("trading.profit_target", 0, "trading.profit_target: Input should be greater than 0"),
        ("trading.profit_target", 1.5, "trading.profit_target: Input should be less than 1"),
        (
            "system.log_level",
            "LOUD",
            "system.log_level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
        ("trading.no_such_field", 1, "trading.no_such_field: Extra inputs are not permitted"),
        ("trading.pairs", [], "trading.pairs: List should have at least 1 item"),
    ],
)
async def test_a_bad_value_is_refused_with_the_field_path_and_nothing_changes(
    path: str, value: Any, message: str
) -> None:
    registry = CollectorRegistry()
    config = ConfigManager({"trading": {"profit_target": 0.006}}, environ={}, registry=registry)
    seen: list[str] = []
    config.subscribe(lambda changed, _old, _new: seen.append(changed))

    with pytest.raises(ConfigRejected) as refused:
        await config.update_config(path, value)

    assert message in str(refused.value)
    assert [e.path for e in refused.value.errors] == [path]
    assert isinstance(refused.value, ValueError)
    assert (config.generation, config.get("trading.profit_target"), seen) == (1, 0.006, [])
    # A refused single value is the caller's mistake, not a broken source: the process stays valid and ready.
    assert config.valid and config.last_error is None
    assert "tradingbot_config_rejected_total 0.0" in generate_latest(registry).decode()


async def test_it_validates_exactly_like_a_whole_document() -> None:
    config = manager({"trading": {"profit_target": 0.006}})
    for path, value in (("trading.profit_target", -1), ("circuit_breaker.failure_threshold", 0)):
        with pytest.raises(ConfigRejected) as single:
            config.with_value(path, value)
        whole = await config.update(with_value(config.document, path, value))
        assert not whole.applied
        assert single.value.errors == whole.errors


async def test_the_environment_stays_on_top_and_is_named() -> None:
    config = manager({}, environ={"TRADINGBOT_TRADING_PROFIT_TARGET": "0.009"})
    await config.update_config("trading.profit_target", 0.002)
    assert config.get("trading.profit_target") == 0.009  # the override wins, as for any document
    assert config.document == {"trading": {"profit_target": 0.002}}


def test_system_debug_and_log_level_are_hot() -> None:
    assert POLICIES["system.debug"].reload is Reload.HOT
    assert POLICIES["system.log_level"].reload is Reload.HOT
