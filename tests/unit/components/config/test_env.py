"""Environment overrides: names resolved against the schema (underscores in sections and keys), both
forms, values parsed per field type, reserved and unknown variables."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from tradingbot_components.config.env import (
    EnvOverride,
    parse_value,
    read_overrides,
    variable_name,
)
from tradingbot_components.config.schema import field_policies


def values(environ: dict[str, str]) -> dict[str, object]:
    return {o.path: o.value for o in read_overrides(environ).overrides}


@pytest.mark.parametrize(
    ("variable", "path"),
    [
        ("TRADINGBOT_TRADING_PROFIT_TARGET", "trading.profit_target"),
        ("TRADINGBOT_RATE_LIMITING_TIER", "rate_limiting.tier"),
        ("TRADINGBOT_RATE_LIMITING_ADAPTIVE_MODE", "rate_limiting.adaptive_mode"),
        ("TRADINGBOT_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "circuit_breaker.failure_threshold"),
        ("TRADINGBOT_ENDPOINTS_MARKET_DATA", "endpoints.market_data"),
        ("TRADINGBOT_SYSTEM_LOG_LEVEL", "system.log_level"),
        ("TRADINGBOT_STORAGE_DSN", "storage.dsn"),
        ("tradingbot_trading_pairs", "trading.pairs"),  # case does not matter
    ],
)
def test_single_underscore_names_resolve_against_the_schema(variable: str, path: str) -> None:
    (override,) = read_overrides({variable: "x"}).overrides
    assert (override.variable, override.path) == (variable, path)


def test_every_field_of_the_schema_has_a_resolvable_variable() -> None:
    for path in field_policies():
        (override,) = read_overrides({variable_name(path): "1"}).overrides
        assert override.path == path


@pytest.mark.parametrize(
    ("variable", "path"),
    [
        ("TRADINGBOT__TRADING__PROFIT_TARGET", "trading.profit_target"),
        ("TRADINGBOT__RATE_LIMITING__TIER", "rate_limiting.tier"),
        ("TRADINGBOT__circuit_breaker__recovery_timeout", "circuit_breaker.recovery_timeout"),
    ],
)
def test_double_underscore_form(variable: str, path: str) -> None:
    (override,) = read_overrides({variable: "1"}).overrides
    assert override.path == path


def test_the_explicit_form_wins_when_both_set_one_field() -> None:
    found = read_overrides(
        {"TRADINGBOT_TRADING_PROFIT_TARGET": "0.1", "TRADINGBOT__TRADING__PROFIT_TARGET": "0.2"}
    )
    assert [(o.path, o.value) for o in found.overrides] == [("trading.profit_target", 0.2)]
    assert any("TRADINGBOT__TRADING__PROFIT_TARGET wins" in problem for problem in found.problems)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"TRADINGBOT_TRADING_PROFIT_TARGET": "0.007"}, {"trading.profit_target": 0.007}),
        ({"TRADINGBOT_CIRCUIT_BREAKER_FAILURE_THRESHOLD": " 7 "}, {"circuit_breaker.failure_threshold": 7}),
        ({"TRADINGBOT_SYSTEM_DEBUG": "yes"}, {"system.debug": True}),
        ({"TRADINGBOT_SYSTEM_DEBUG": "Off"}, {"system.debug": False}),
        ({"TRADINGBOT_RATE_LIMITING_ADAPTIVE_MODE": "0"}, {"rate_limiting.adaptive_mode": False}),
        ({"TRADINGBOT_TRADING_PAIRS": "XBT/USD, ETH/USD"}, {"trading.pairs": ["XBT/USD", "ETH/USD"]}),
        ({"TRADINGBOT_TRADING_PAIRS": '["XBT/EUR"]'}, {"trading.pairs": ["XBT/EUR"]}),
        ({"TRADINGBOT_RATE_LIMITING_TIER": "pro"}, {"rate_limiting.tier": "pro"}),
        ({"TRADINGBOT_STORAGE_DSN": ""}, {"storage.dsn": None}),
        ({"TRADINGBOT_STORAGE_DSN": "postgresql://u:p@h/db"}, {"storage.dsn": "postgresql://u:p@h/db"}),
    ],
)
def test_values_are_parsed_per_field_type(environ: dict[str, str], expected: dict[str, object]) -> None:
    assert values(environ) == expected


def test_values_that_do_not_parse_stay_strings_for_validation_to_reject() -> None:
    assert values({"TRADINGBOT_TRADING_PROFIT_TARGET": "lots"}) == {"trading.profit_target": "lots"}
    assert values({"TRADINGBOT_SYSTEM_DEBUG": "maybe"}) == {"system.debug": "maybe"}
    assert values({"TRADINGBOT_TRADING_PAIRS": "[not json"}) == {"trading.pairs": "[not json"}


def test_reserved_and_foreign_variables_are_ignored_silently() -> None:
    found = read_overrides(
        {
            "TRADINGBOT_COMPONENT": "storage",
            "TRADINGBOT_CONFIG": "/etc/tradingbot/config.json",
            "TRADINGBOT_LOG_FORMAT": "plain",
            "HOME": "/root",
            "KUBECONFIG": "/x",
            # components' own process settings, read by the components themselves
            "TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "3",
            "TRADINGBOT_BALANCE_MANAGER_MAX_AGE": "30",
            "TRADINGBOT_TRADER_ORDER_DEADLINE": "5",
            "TRADINGBOT_SIM_SEED": "1",
        }
    )
    assert found.overrides == () and found.unknown == () and found.problems == ()


def test_unknown_config_like_variables_are_reported_not_fatal() -> None:
    found = read_overrides(
        {
            "TRADINGBOT_TRADING_PROFIT": "1",  # no such key
            "TRADINGBOT_NOPE_X": "1",  # no such section
            "TRADINGBOT_TRADING": "1",  # a section, not a field
            "TRADINGBOT__TRADING__NOPE": "1",
            "TRADINGBOT_SYSTEM_DEBUG": "true",
        }
    )
    assert found.unknown == (
        "TRADINGBOT_NOPE_X",
        "TRADINGBOT_TRADING",
        "TRADINGBOT_TRADING_PROFIT",
        "TRADINGBOT__TRADING__NOPE",
    )
    assert [o.path for o in found.overrides] == ["system.debug"]


def test_an_ambiguous_name_is_reported_and_ignored() -> None:
    class A(BaseModel):
        b_c: int = 0

    class AB(BaseModel):
        c: int = 0

    class Doc(BaseModel):
        a: A = A()
        a_b: AB = AB()

    found = read_overrides({"TRADINGBOT_A_B_C": "1"}, Doc)
    assert found.overrides == ()
    assert found.problems == ("TRADINGBOT_A_B_C is ambiguous: it could set a.b_c or a_b.c; ignored",)


def test_apply_sets_overrides_on_a_copy_of_the_document() -> None:
    document = {"trading": {"profit_target": 0.001, "pairs": ["XBT/USD"]}}
    found = read_overrides({"TRADINGBOT_TRADING_PROFIT_TARGET": "0.5", "TRADINGBOT_SYSTEM_DEBUG": "1"})
    merged = found.apply(document)
    assert merged == {"trading": {"profit_target": 0.5, "pairs": ["XBT/USD"]}, "system": {"debug": True}}
    assert document == {"trading": {"profit_target": 0.001, "pairs": ["XBT/USD"]}}
    assert found.variable_for("system.debug") == "TRADINGBOT_SYSTEM_DEBUG"


def test_parse_value_keeps_literals_and_strings_as_text() -> None:
    assert parse_value(" pro ", str) == "pro"
    assert parse_value("1,2", list[int]) == [1, 2]
    assert EnvOverride("V", "p", 1).value == 1
