"""Who gets in: Kraken's signature (docs test vector), strictly increasing per-key nonces with an
optional window, and the tier's REST counter answering `EAPI:Rate limit exceeded`."""

from __future__ import annotations

import pytest

from tests.unit.components.exchange_sim.conftest import NOW, SECRET
from tradingbot_components.exchange_sim.accounts import Account, Credentials
from tradingbot_components.exchange_sim.admission import (
    Admitted,
    Refused,
    accept_nonce,
    authenticate,
    charge_rest,
    new_rest_counter,
    rest_cost,
)
from tradingbot_components.exchange_sim.rate_limits import Tier
from tradingbot_components.kraken.errors import KrakenError
from tradingbot_components.kraken.signing import BodyFormat, sign

PATH = "/0/private/AddOrder"
BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOCS_SIGNATURE = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="


def new_account(tier: Tier = Tier.STARTER) -> Account:
    return Account(Credentials("key", SECRET), {}, new_rest_counter(tier, NOW))


def check(
    account: Account, body: str = BODY, signature: str = DOCS_SIGNATURE, key: str = "key"
) -> Admitted | Refused:
    return authenticate(
        {"key": account},
        api_key=key,
        api_sign=signature,
        url_path=PATH,
        body=body,
        body_format=BodyFormat.FORM,
    )


def test_the_docs_vector_is_accepted_once() -> None:
    account = new_account()
    admitted = check(account)
    assert isinstance(admitted, Admitted) and admitted.nonce == 1616492376594
    assert check(account) == Refused(KrakenError.INVALID_NONCE)  # a replay


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"key": "other"}, KrakenError.INVALID_KEY),
        ({"signature": DOCS_SIGNATURE[:-4] + "AAA="}, KrakenError.INVALID_SIGNATURE),
        ({"signature": "not base64 at all"}, KrakenError.INVALID_SIGNATURE),
        ({"signature": ""}, KrakenError.INVALID_SIGNATURE),
        ({"body": BODY.replace("1.25", "12.5")}, KrakenError.INVALID_SIGNATURE),
        ({"body": "pair=XBTUSD"}, KrakenError.INVALID_NONCE),
    ],
)
def test_refusals(changes: dict[str, str], error: KrakenError) -> None:
    assert check(new_account(), **changes) == Refused(error)


def test_json_bodies_are_verified_over_the_exact_text() -> None:
    account = new_account()
    body = '{"nonce":5,"pair":"XBTUSD"}'
    decision = authenticate(
        {"key": account},
        api_key="key",
        api_sign=sign("/0/private/Balance", 5, body, SECRET),
        url_path="/0/private/Balance",
        body=body,
        body_format=BodyFormat.JSON,
    )
    assert isinstance(decision, Admitted)


def test_nonces_must_increase_per_key() -> None:
    account = new_account()
    assert accept_nonce(account, 10)
    assert not accept_nonce(account, 10)
    assert not accept_nonce(account, 9)
    assert accept_nonce(account, 11)


def test_a_nonce_window_tolerates_reordering_but_not_replays() -> None:
    account = new_account()
    assert accept_nonce(account, 1000, window=50)
    assert accept_nonce(account, 990, window=50)  # arrived late, inside the window
    assert not accept_nonce(account, 990, window=50)  # the same one again
    assert not accept_nonce(account, 950, window=50)  # outside the window
    assert account.last_nonce == 1000


@pytest.mark.parametrize(("tier", "cap"), [(Tier.STARTER, 15), (Tier.INTERMEDIATE, 20), (Tier.PRO, 20)])
def test_the_rest_counter_refuses_the_call_over_the_tier_cap(tier: Tier, cap: int) -> None:
    account = new_account(tier)
    for _ in range(cap):
        assert charge_rest(account, "Balance", NOW) is None
    assert charge_rest(account, "Balance", NOW) == Refused(KrakenError.RATE_LIMIT_EXCEEDED)


def test_a_client_that_keeps_calling_stays_blocked() -> None:
    account = new_account(Tier.PRO)  # 20, decays 1/s
    for _ in range(20):
        charge_rest(account, "Balance", NOW)
    # Every refused call leaves the counter full, so calling every half second never gets in ...
    for step in range(1, 10):
        assert charge_rest(account, "Balance", NOW + step * 0.5) is not None
    # ... while waiting one decay step after the last refusal does.
    assert charge_rest(account, "Balance", NOW + 4.5 + 1.0) is None


def test_costs() -> None:
    assert rest_cost("Balance") == 1
    assert rest_cost("ClosedOrders") == 2
    assert rest_cost("AddOrder") == 0 and rest_cost("CancelOrder") == 0
    account = new_account()
    for _ in range(7):
        assert charge_rest(account, "ClosedOrders", NOW) is None
    assert charge_rest(account, "ClosedOrders", NOW) is not None  # 14 + 2 > 15
    assert charge_rest(account, "AddOrder", NOW) is None  # exempt
