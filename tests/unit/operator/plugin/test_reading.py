"""Reading a TradingBot into the API's status models, tolerant of a newer operator's extra fields."""

from __future__ import annotations

import pytest

from tests.unit.operator.plugin.samples import bot, status
from tradingbot_operator.api.status import ComponentStatus, Health, TradingBotStatus
from tradingbot_operator.plugin.errors import ExitCode, PluginError
from tradingbot_operator.plugin.reading import known_fields, read_bot, read_status


def test_reads_identity_spec_facts_and_typed_status() -> None:
    view = read_bot(bot(annotations={"tradingbot.dev/restart": "auth"}))
    assert (view.name, view.namespace, view.generation, view.resource_version) == (
        "kraken-main",
        "bots",
        1,
        "42",
    )
    assert view.mode == "paper" and view.reported and view.restart_request == "auth"
    assert view.status.health is Health.HEALTHY
    assert view.component_names[:3] == ["storage", "exchange-sim", "auth"]
    assert view.component("auth") is not None and view.component("nope") is None


def test_a_bot_without_status_is_not_reported() -> None:
    view = read_bot(bot(status=None))
    assert not view.reported and view.status == TradingBotStatus()


def test_fields_this_plugin_does_not_know_are_dropped_at_every_depth() -> None:
    raw = status(futureField=1)
    raw["components"][0]["futureRowField"] = {"x": 1}
    raw["conditions"][0]["futureConditionField"] = True
    read = read_status(raw)
    assert read.components[0].name == "storage"
    pruned = known_fields(ComponentStatus, {"name": "a", "lastRecovery": {"action": "Restart", "extra": 1}})
    assert pruned == {"name": "a", "lastRecovery": {"action": "Restart"}}


def test_an_unreadable_status_says_where_and_suggests_json() -> None:
    with pytest.raises(PluginError) as caught:
        read_status(status(health="Sparkling"), bot="bots/kraken-main")
    assert caught.value.code is ExitCode.API_ERROR
    assert "status.health" in caught.value.message and "-o json" in caught.value.message
