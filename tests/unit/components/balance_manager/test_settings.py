"""balance-manager process settings: defaults, overrides, and errors that name the variable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingbot_components.balance_manager.settings import (
    BalanceManagerSettings,
    read_balance_manager_settings,
)

P = "TRADINGBOT_BALANCE_MANAGER_"


def test_defaults_suit_kraken() -> None:
    settings = read_balance_manager_settings({})
    assert settings == BalanceManagerSettings()
    assert settings.max_age > settings.reconcile_interval > settings.confirm_delay
    assert isinstance(settings.dust, Decimal)


def test_overrides_are_read_exactly() -> None:
    settings = read_balance_manager_settings(
        {
            f"{P}RECONCILE_INTERVAL": "5",
            f"{P}MAX_AGE": "12.5",
            f"{P}DUST": "0.0001",
            f"{P}SNAPSHOT_INTERVAL": " 0.5 ",
            f"{P}CONFIRM_DELAY": "",  # empty means default
            "TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "1",  # not ours
        }
    )
    assert (settings.reconcile_interval, settings.max_age, settings.snapshot_interval) == (5.0, 12.5, 0.5)
    assert settings.dust == Decimal("0.0001") and str(settings.dust) == "0.0001"
    assert settings.confirm_delay == 1.0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {f"{P}RECONCILE_INTERVAL": "soon"},
            f"{P}RECONCILE_INTERVAL: expected a number of seconds, got 'soon'",
        ),
        ({f"{P}MAX_AGE": "0"}, f"{P}MAX_AGE: must be a finite number > 0, got '0'"),
        ({f"{P}MAX_AGE": "inf"}, f"{P}MAX_AGE: must be a finite number > 0, got 'inf'"),
        ({f"{P}DUST": "-1"}, f"{P}DUST: must be a finite amount >= 0, got '-1'"),
        ({f"{P}DUST": "a bit"}, f"{P}DUST: expected a decimal amount such as 0.00001, got 'a bit'"),
        ({f"{P}DUST": "NaN"}, f"{P}DUST: must be a finite amount >= 0, got 'NaN'"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        read_balance_manager_settings(environ)
    assert str(raised.value) == message


def test_the_freshness_bound_must_outlast_the_reconcile_interval() -> None:
    with pytest.raises(
        ValueError, match=rf"^{P}MAX_AGE: must be longer than {P}RECONCILE_INTERVAL \(60 s <= 60 s\)"
    ):
        read_balance_manager_settings({f"{P}MAX_AGE": "60"})


def test_the_confirmation_must_come_before_the_next_reconcile() -> None:
    with pytest.raises(ValueError, match=rf"^{P}CONFIRM_DELAY: must be shorter than {P}RECONCILE_INTERVAL"):
        read_balance_manager_settings(
            {f"{P}RECONCILE_INTERVAL": "2", f"{P}MAX_AGE": "5", f"{P}CONFIRM_DELAY": "2"}
        )


def test_settings_render_as_json_with_exact_dust() -> None:
    assert BalanceManagerSettings(dust=Decimal("1E-8")).to_dict() == {
        "reconcile_interval": 60.0,
        "max_age": 180.0,
        "dust": "0.00000001",
        "snapshot_interval": 5.0,
        "confirm_delay": 1.0,
    }
