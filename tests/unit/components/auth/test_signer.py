"""Signing with the key's one nonce sequence: refused until the mark is loaded, monotonic across restarts."""

from __future__ import annotations

import asyncio
import urllib.parse

import pytest

from tests.unit.components.auth.fakes import API_KEY, SECRET, Claim, MemoryNonceStore, credentials
from tradingbot_components.auth.nonce_marks import NonceStoreError
from tradingbot_components.auth.signer import Signer, SignerNotReady, not_ready_reasons
from tradingbot_components.kraken.signing import BodyFormat, verify


def signer(store: MemoryNonceStore, claim: Claim | None = None, **kwargs: object) -> Signer:
    return Signer(credentials(), store, claim or Claim(), **kwargs)  # type: ignore[arg-type]


def test_not_ready_reasons_name_every_missing_piece() -> None:
    assert not_ready_reasons(credentials=True, claim_held=True, mark_loaded=True) == []
    reasons = not_ready_reasons(credentials=False, claim_held=False, mark_loaded=False)
    assert len(reasons) == 3 and "high-water mark" in reasons[2]


async def test_signing_is_refused_until_the_mark_is_loaded() -> None:
    subject = signer(MemoryNonceStore())
    with pytest.raises(SignerNotReady, match="high-water mark has not been loaded"):
        await subject.sign("/0/private/Balance", {})
    await subject.load_mark()
    assert (await subject.sign("/0/private/Balance", {})).nonce > 0


async def test_signing_is_refused_without_the_claim() -> None:
    claim = Claim()
    subject = signer(MemoryNonceStore(), claim)
    await subject.load_mark()
    claim.held = False
    with pytest.raises(SignerNotReady, match="single-signer claim"):
        await subject.sign("/0/private/Balance", {})


async def test_the_signature_is_kraken_s_over_the_exact_body() -> None:
    subject = signer(MemoryNonceStore())
    await subject.load_mark()
    params = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "37500", "volume": "1.25"}
    signed = await subject.sign("/0/private/AddOrder", params)
    assert signed.headers["API-Key"] == API_KEY
    assert signed.body.startswith(f"nonce={signed.nonce}&pair=XBTUSD")
    assert verify("/0/private/AddOrder", signed.nonce, signed.body, SECRET, signed.headers["API-Sign"])
    json_signed = await subject.sign("/0/private/AddOrderBatch", {"orders": [{"a": "1"}]}, BodyFormat.JSON)
    assert json_signed.headers["Content-Type"] == "application/json"
    assert verify(
        "/0/private/AddOrderBatch",
        json_signed.nonce,
        json_signed.body,
        SECRET,
        json_signed.headers["API-Sign"],
    )


async def test_nonces_start_above_the_stored_mark_and_every_one_is_covered_by_a_durable_reservation() -> None:
    store = MemoryNonceStore(mark=10**13)  # a mark far ahead of the clock, as after a clock step back
    subject = signer(store)
    await subject.load_mark()
    nonces = [(await subject.sign("/0/private/Balance", {})).nonce for _ in range(50)]
    assert nonces == sorted(set(nonces)) and nonces[0] > 10**13
    assert store.mark >= nonces[-1]


async def test_concurrent_signing_never_repeats_a_nonce() -> None:
    subject = signer(MemoryNonceStore())
    await subject.load_mark()
    signed = await asyncio.gather(*(subject.sign("/0/private/Balance", {}) for _ in range(200)))
    nonces = [s.nonce for s in signed]
    assert len(set(nonces)) == 200


async def test_a_restarted_signer_continues_above_everything_the_previous_one_issued() -> None:
    store = MemoryNonceStore()
    before = signer(store)
    await before.load_mark()
    issued = [(await before.sign("/0/private/Balance", {})).nonce for _ in range(20)]
    after = signer(store)  # the process died: only the store survived
    await after.load_mark()
    assert (await after.sign("/0/private/Balance", {})).nonce > max(issued)


async def test_params_that_cannot_be_encoded_are_refused_before_a_nonce_is_spent() -> None:
    subject = signer(MemoryNonceStore())
    await subject.load_mark()
    with pytest.raises(TypeError, match="float"):
        await subject.sign("/0/private/AddOrder", {"volume": 1.5})
    assert subject.signed == 0
    with pytest.raises(ValueError, match="/0/private/"):
        await subject.sign("/0/public/Time", {})


async def test_a_storage_outage_stops_signing_once_the_reservation_runs_out_and_is_reported() -> None:
    store = MemoryNonceStore()
    results: list[str | None] = []
    subject = signer(store, on_store_result=results.append, block_seconds=0.001)
    await subject.load_mark()
    await subject.sign("/0/private/Balance", {})
    store.fail = True
    with pytest.raises(NonceStoreError):
        for _ in range(1000):  # the 1 ms reservation runs out almost at once
            await subject.sign("/0/private/Balance", {})
    assert subject.last_store_error is not None and results[-1] is not None
    store.fail = False
    await subject.sign("/0/private/Balance", {})
    assert subject.last_store_error is None and results[-1] is None
    assert subject.status()["last_store_error"] is None


async def test_a_signed_form_body_carries_the_params_and_its_nonce_and_verifies() -> None:
    subject = signer(MemoryNonceStore())
    await subject.load_mark()
    params = {"pair": "XBTUSD", "type": "buy", "volume": "0.01", "price": "50000.1", "cl_ord_id": "a b&c"}
    signed = await subject.sign("/0/private/AddOrder", params, BodyFormat.FORM)
    decoded = urllib.parse.parse_qs(signed.body)
    assert decoded.pop("nonce") == [str(signed.nonce)]
    assert decoded == {key: [value] for key, value in params.items()}  # "&" and " " survive the encoding
    headers = dict(signed.headers)
    assert headers["API-Key"] == API_KEY
    assert verify("/0/private/AddOrder", signed.nonce, signed.body, SECRET, headers["API-Sign"])


async def test_while_auth_sends_its_own_request_no_other_signature_is_handed_out() -> None:
    subject = signer(MemoryNonceStore())
    await subject.load_mark()
    async with subject.exclusive() as sign:
        own = await sign("/0/private/GetWebSocketsToken", {}, BodyFormat.FORM)
        other = asyncio.create_task(subject.sign("/0/private/Balance", {}))
        await asyncio.sleep(0.01)
        assert not other.done()  # waits until our request has been answered
    assert (await other).nonce > own.nonce


async def test_a_recheck_clears_the_store_error_once_storage_answers_again() -> None:
    store = MemoryNonceStore()
    results: list[str | None] = []
    subject = signer(store, on_store_result=results.append, block_seconds=0.001)
    await subject.load_mark()
    store.fail = True
    with pytest.raises(NonceStoreError):
        for _ in range(1000):
            await subject.sign("/0/private/Balance", {})
    await subject.recheck_store()
    assert subject.last_store_error is not None  # still down
    store.fail = False
    await subject.recheck_store()
    assert subject.last_store_error is None and results == [results[0], None]
