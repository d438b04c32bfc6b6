"""The ConfigManager: precedence, whole-document validation that keeps the last good config, change
callbacks, generations, restart-required fields, redaction and metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tradingbot_components.config.manager import ConfigManager, ConfigRejected

DSN = "postgresql://bot:hunter2@db:5432/bot"


def manager(
    document: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    *,
    component: str | None = "storage",
    registry: CollectorRegistry | None = None,
    generation: int | None = None,
) -> ConfigManager:
    return ConfigManager(
        document, environ=environ or {}, component=component, registry=registry, generation=generation
    )


def doc(profit: float = 0.005, **sections: dict[str, Any]) -> dict[str, Any]:
    return {"trading": {"profit_target": profit}, **sections}


# -- precedence ------------------------------------------------------------------------------------


def test_defaults_then_document_then_environment() -> None:
    assert manager().get("trading.profit_target") == 0.005
    assert manager(doc(0.006)).get("trading.profit_target") == 0.006
    env = {"TRADINGBOT_TRADING_PROFIT_TARGET": "0.007", "TRADINGBOT_RATE_LIMITING_TIER": "pro"}
    config = manager(doc(0.006), env)
    assert config.get("trading.profit_target") == 0.007
    assert config.get("rate_limiting.tier") == "pro"


async def test_environment_stays_on_top_of_every_update() -> None:
    config = manager(doc(0.006), {"TRADINGBOT_TRADING_PROFIT_TARGET": "0.007"})
    result = await config.update(doc(0.008, system={"debug": True}))
    assert result.applied
    assert config.get("trading.profit_target") == 0.007
    assert config.get("system.debug") is True
    assert [c.path for c in result.changes] == ["system.debug"]


def test_get_reads_fields_and_sections_and_names_unknown_paths() -> None:
    config = manager(doc(0.006))
    assert config.get("trading").profit_target == 0.006
    assert config.config.trading.pairs == ["XBT/USD"]
    with pytest.raises(KeyError, match=r"unknown config path 'trading\.nope'"):
        config.get("trading.nope")
    with pytest.raises(KeyError):
        config.get("trading.profit_target.x")


def test_an_invalid_environment_fails_at_once_naming_the_variable() -> None:
    with pytest.raises(ConfigRejected) as caught:
        manager(environ={"TRADINGBOT_TRADING_PROFIT_TARGET": "lots"})
    (error,) = caught.value.errors
    assert error.path == "trading.profit_target"
    assert "TRADINGBOT_TRADING_PROFIT_TARGET" in error.message


def test_unknown_environment_variables_are_logged_as_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = manager(environ={"TRADINGBOT_TRADING_PROFT_TARGET": "0.1"})
    assert config.get("trading.profit_target") == 0.005
    assert "ignoring TRADINGBOT_TRADING_PROFT_TARGET" in caplog.text
    assert config.status()["env_ignored"] == ["TRADINGBOT_TRADING_PROFT_TARGET"]


# -- validation and rejection ----------------------------------------------------------------------


async def test_an_invalid_document_is_rejected_and_the_last_good_config_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    config = manager(doc(0.006), registry=registry)
    bad = {"trading": {"profit_target": 2, "pairs": ["xbt-usd"]}, "system": {"nope": 1}}
    with caplog.at_level(logging.ERROR):
        result = await config.update(bad, generation=9, origin="file:/x")
    assert not result.applied
    assert {e.path for e in result.errors} == {"trading.profit_target", "trading.pairs[0]", "system.nope"}
    assert config.get("trading.profit_target") == 0.006
    assert config.generation == 1
    assert not config.valid
    assert config.last_error is not None and config.last_error.generation == 9
    assert registry.get_sample_value("tradingbot_config_rejected_total") == 1
    assert registry.get_sample_value("tradingbot_config_valid") == 0
    assert registry.get_sample_value("tradingbot_config_generation") == 1
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "trading.profit_target" in record.getMessage() and "keeping generation 1" in record.getMessage()

    status = config.status()
    assert status["valid"] is False
    assert {e["path"] for e in status["last_error"]["errors"]} == {e.path for e in result.errors}

    fixed = await config.update(doc(0.007))
    assert fixed.applied and config.valid and config.generation == 2
    assert registry.get_sample_value("tradingbot_config_valid") == 1


async def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    config = manager(doc())
    result = await config.update(["not", "a", "mapping"])  # type: ignore[arg-type]
    assert not result.applied and result.errors[0].path == ""


def test_reject_records_unreadable_documents() -> None:
    config = manager(doc())
    config.reject("config.json is not valid JSON: Expecting value", origin="file:/etc/config.json")
    assert not config.valid
    assert config.last_error is not None and config.last_error.origin == "file:/etc/config.json"


def test_an_invalid_starting_document_raises_with_field_paths() -> None:
    with pytest.raises(ConfigRejected, match=r"circuit_breaker\.failure_threshold"):
        manager({"circuit_breaker": {"failure_threshold": 0}})


# -- callbacks -------------------------------------------------------------------------------------


async def test_subscribers_get_path_old_new_for_each_changed_leaf() -> None:
    config = manager(doc(0.005))
    seen: list[tuple[str, Any, Any]] = []
    async_seen: list[str] = []

    async def on_change_async(path: str, old: Any, new: Any) -> None:
        async_seen.append(path)

    config.subscribe(lambda *change: seen.append(change))
    config.subscribe(on_change_async, prefix="trading")
    await config.update(doc(0.01, system={"log_level": "DEBUG"}, trading={"pairs": ["ETH/USD"]}))
    assert seen == [
        ("system.log_level", "INFO", "DEBUG"),
        ("trading.pairs", ["XBT/USD"], ["ETH/USD"]),
    ]  # the `trading` keyword replaced doc()'s section, so profit_target stayed at its default
    assert async_seen == ["trading.pairs"]


async def test_unsubscribe_and_failing_callbacks_do_not_stop_the_others() -> None:
    config = manager(doc(0.005))
    seen: list[str] = []

    def broken(path: str, old: Any, new: Any) -> None:
        raise RuntimeError("boom")

    config.subscribe(broken)
    unsubscribe = config.subscribe(lambda path, old, new: seen.append(path))
    await config.update(doc(0.006))
    unsubscribe()
    await config.update(doc(0.007))
    assert seen == ["trading.profit_target"]
    assert config.get("trading.profit_target") == 0.007


async def test_on_applied_sees_every_applied_generation() -> None:
    config = manager(doc(0.005))
    generations: list[int] = []
    config.on_applied(generations.append)
    await config.update(doc(0.006))
    await config.update(doc(0.006), generation=7)  # generation-only change
    await config.update(doc(0.006))  # nothing new: not applied again
    assert generations == [2, 7]


# -- generations -----------------------------------------------------------------------------------


async def test_generation_comes_from_the_source_or_a_local_counter() -> None:
    config = manager()
    assert (config.generation, config.loaded) == (0, False)
    await config.update(doc(0.005))  # the first document loads even when it changes nothing
    assert (config.generation, config.loaded) == (1, True)
    await config.update(doc(0.005))
    assert config.generation == 1
    await config.update(doc(0.006))
    assert config.generation == 2
    await config.update(doc(0.007), generation=12)
    assert config.generation == 12
    await config.update(doc(0.008))
    assert config.generation == 13
    assert manager(doc(), generation=5).generation == 5


# -- restart fields --------------------------------------------------------------------------------


async def test_restart_fields_apply_but_are_flagged_for_the_components_that_read_them() -> None:
    storage = manager(doc(), component="storage")
    trader = manager(doc(), component="trader")
    custom = manager(doc(), component=None)
    change = {"storage": {"sqlite_path": "/data/other.db"}, "trading": {"pairs": ["ETH/USD"]}}
    for config in (storage, trader, custom):
        assert (await config.update(change)).applied
        assert config.get("storage.sqlite_path") == "/data/other.db"
    assert storage.restart_required == {"storage.sqlite_path"}
    assert trader.restart_required == {"trading.pairs"}
    assert custom.restart_required == {"storage.sqlite_path", "trading.pairs"}
    assert storage.status()["restart_required"] == ["storage.sqlite_path"]

    await storage.update(doc())  # back to what the process started with
    assert storage.restart_required == frozenset()


async def test_hot_fields_are_never_restart_required() -> None:
    config = manager(doc())
    await config.update(doc(0.009, system={"log_level": "ERROR", "health_check_interval": 5}))
    assert config.restart_required == frozenset()


# -- redaction -------------------------------------------------------------------------------------


async def test_secrets_are_redacted_in_export_status_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    config = manager(doc(), {"TRADINGBOT_STORAGE_DSN": DSN})
    assert config.get("storage.dsn") == DSN  # the process itself sees the real value
    assert config.export()["config"]["storage"]["dsn"] == "***"
    assert config.export()["generation"] == 1
    with caplog.at_level(logging.DEBUG):
        await config.update({"storage": {"dsn": "postgresql://other:secret2@db/bot"}})  # env still wins
        await config.update({"storage": {"sqlite_path": "x.db"}, "trading": {"profit_target": 9}})
    rendered = json.dumps([config.export(), config.status()]) + caplog.text
    rendered += json.dumps([getattr(r, "changes", None) for r in caplog.records])
    assert "hunter2" not in rendered and "secret2" not in rendered


async def test_a_changed_secret_is_logged_redacted(caplog: pytest.LogCaptureFixture) -> None:
    config = manager({"storage": {"dsn": DSN}})
    with caplog.at_level(logging.INFO):
        result = await config.update({"storage": {"dsn": DSN + "2"}})
    assert [c.path for c in result.changes] == ["storage.dsn"]
    assert result.changes[0].shown() == {"path": "storage.dsn", "old": "***", "new": "***"}
    assert "hunter2" not in caplog.text
    assert "storage.dsn: '***' -> '***'" in caplog.text


def test_an_unset_secret_exports_as_null() -> None:
    assert manager().export()["config"]["storage"]["dsn"] is None
