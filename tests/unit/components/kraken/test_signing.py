"""API-Sign against Kraken's published vectors, the verifier a simulator uses, and body encoding."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tradingbot_components.kraken.signing import (
    BodyFormat,
    encode_body,
    encode_form,
    encode_json,
    nonce_from_body,
    sign,
    sign_request,
    verify,
)

DOCS_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
DOCS_NONCE = 1616492376594
DOCS_BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOCS_SIGNATURE = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="

SDK_SECRET = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="  # 32 bytes of 0x01
SDK_SIGNATURE = "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q=="


def test_docs_vector() -> None:
    assert sign("/0/private/AddOrder", DOCS_NONCE, DOCS_BODY, DOCS_SECRET) == DOCS_SIGNATURE


def test_official_sdk_vector() -> None:
    nonce = 1700000000000000000
    signature = sign("/0/private/Balance", nonce, f"nonce={nonce}", SDK_SECRET)
    assert signature == SDK_SIGNATURE
    assert len(signature) == 88


def test_body_as_bytes_and_nonce_as_string_sign_the_same() -> None:
    assert sign("/0/private/AddOrder", str(DOCS_NONCE), DOCS_BODY.encode(), DOCS_SECRET) == DOCS_SIGNATURE


def test_sign_request_reproduces_the_docs_request() -> None:
    params = {
        "ordertype": "limit",
        "pair": "XBTUSD",
        "price": 37500,
        "type": "buy",
        "volume": Decimal("1.25"),
    }
    request = sign_request(
        "/0/private/AddOrder", params, nonce=DOCS_NONCE, api_key="my-key", secret_b64=DOCS_SECRET
    )
    assert request.body == DOCS_BODY
    assert request.headers == {
        "API-Key": "my-key",
        "API-Sign": DOCS_SIGNATURE,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_verify_accepts_the_right_signature_only() -> None:
    path = "/0/private/AddOrder"
    assert verify(path, DOCS_NONCE, DOCS_BODY, DOCS_SECRET, DOCS_SIGNATURE)
    assert not verify(path, DOCS_NONCE, DOCS_BODY.replace("1.25", "12.5"), DOCS_SECRET, DOCS_SIGNATURE)
    assert not verify(path, DOCS_NONCE + 1, DOCS_BODY, DOCS_SECRET, DOCS_SIGNATURE)
    assert not verify("/0/private/Balance", DOCS_NONCE, DOCS_BODY, DOCS_SECRET, DOCS_SIGNATURE)
    assert not verify(path, DOCS_NONCE, DOCS_BODY, SDK_SECRET, DOCS_SIGNATURE)
    assert not verify(path, DOCS_NONCE, DOCS_BODY, DOCS_SECRET, "not-a-signature-\u00e9")


def test_a_bad_secret_is_reported_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not valid base64") as caught:
        sign("/0/private/Balance", 1, "nonce=1", "not base64 %%% secret")
    assert "%%%" not in str(caught.value)


def test_url_path_must_be_the_path() -> None:
    with pytest.raises(ValueError, match="/0/private/"):
        sign("0/private/Balance", 1, "nonce=1", SDK_SECRET)


def test_form_body_puts_nonce_first_and_keeps_insertion_order() -> None:
    body = encode_body({"pair": "XBTUSD", "type": "buy"}, 42)
    assert body == "nonce=42&pair=XBTUSD&type=buy"


def test_form_encoding_of_kraken_shapes() -> None:
    body = encode_form(
        {
            "txid": ["OQCLML-BW3P3-BUCMWZ", "OU22CG-KLAF2-FWUDD7"],
            "price": "+1.5%",
            "close": {"ordertype": "limit", "price": Decimal("27500.0")},
            "validate": True,
            "userref": None,
        }
    )
    assert body == (
        "txid=OQCLML-BW3P3-BUCMWZ%2COU22CG-KLAF2-FWUDD7&price=%2B1.5%25"
        "&close%5Bordertype%5D=limit&close%5Bprice%5D=27500.0&validate=true"
    )


def test_decimals_are_sent_exactly_and_floats_are_refused() -> None:
    assert encode_form({"volume": Decimal("1E-8")}) == "volume=0.00000001"
    with pytest.raises(TypeError, match=r"volume=0\.1 is a float; pass a Decimal or str"):
        encode_form({"volume": 0.1})


def test_nonce_cannot_be_smuggled_in_params() -> None:
    with pytest.raises(ValueError, match="`nonce` argument"):
        encode_body({"nonce": 1}, 2)


def test_json_body_is_compact_and_signed_as_sent() -> None:
    orders = [{"ordertype": "limit", "price": Decimal("27500.0"), "volume": "1.0"}] * 2
    request = sign_request(
        "/0/private/AddOrderBatch",
        {"pair": "XBTUSD", "orders": orders},
        nonce=7,
        api_key="k",
        secret_b64=SDK_SECRET,
        body_format=BodyFormat.JSON,
    )
    assert json.loads(request.body) == {
        "nonce": 7,
        "pair": "XBTUSD",
        "orders": [{"ordertype": "limit", "price": "27500.0", "volume": "1.0"}] * 2,
    }
    assert " " not in request.body
    assert request.headers["Content-Type"] == "application/json"
    assert verify("/0/private/AddOrderBatch", 7, request.body, SDK_SECRET, request.headers["API-Sign"])
    assert encode_json({"skip": None, "n": 1}) == '{"n":1}'


def test_simulator_reads_the_nonce_back_from_either_encoding() -> None:
    assert nonce_from_body(DOCS_BODY) == DOCS_NONCE
    assert nonce_from_body(b'{"nonce":7,"pair":"XBTUSD"}', BodyFormat.JSON) == 7
    assert nonce_from_body('{"nonce":"7"}', BodyFormat.JSON) == 7
    for bad in ("pair=XBTUSD", "nonce=1&nonce=2", "nonce=-1", "nonce="):
        with pytest.raises(ValueError, match="no single unsigned integer `nonce`"):
            nonce_from_body(bad)
    with pytest.raises(ValueError, match="not valid JSON"):
        nonce_from_body("nonce=1", BodyFormat.JSON)
