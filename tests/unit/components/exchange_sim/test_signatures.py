"""The simulator's own API-Sign check and nonce reading, against Kraken's published signature vectors."""

from __future__ import annotations

import pytest

from tradingbot_components.exchange_sim.signatures import body_nonce, expected_signature, signature_matches

# Kraken's "Spot REST Authentication" guide.
DOCS_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
DOCS_BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOCS_SIGNATURE = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
# Kraken's official Rust SDK's signer test: a secret of 32 bytes 0x01.
SDK_SECRET = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
SDK_SIGNATURE = "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q=="


def test_the_published_vectors() -> None:
    assert expected_signature("/0/private/AddOrder", 1616492376594, DOCS_BODY, DOCS_SECRET) == DOCS_SIGNATURE
    body = "nonce=1700000000000000000"
    assert expected_signature("/0/private/Balance", 1700000000000000000, body, SDK_SECRET) == SDK_SIGNATURE
    assert signature_matches("/0/private/AddOrder", 1616492376594, DOCS_BODY, DOCS_SECRET, DOCS_SIGNATURE)
    assert not signature_matches("/0/private/Balance", 1616492376594, DOCS_BODY, DOCS_SECRET, DOCS_SIGNATURE)


@pytest.mark.parametrize(
    ("body", "is_json", "nonce"),
    [
        (DOCS_BODY, False, 1616492376594),
        ('{"nonce": 5, "pair": "XBTUSD"}', True, 5),
        ('{"nonce": "7"}', True, 7),
    ],
)
def test_nonces_are_read_from_form_and_json_bodies(body: str, is_json: bool, nonce: int) -> None:
    assert body_nonce(body, is_json=is_json) == nonce


@pytest.mark.parametrize(
    ("body", "is_json"),
    [
        ("pair=XBTUSD", False),
        ("nonce=1&nonce=2", False),
        ("nonce=-3", False),
        ('{"nonce": true}', True),
        ('{"nonce": 1.5}', True),
        ("[1]", True),
        ("not json", True),
    ],
)
def test_bodies_without_one_unsigned_nonce_are_refused(body: str, is_json: bool) -> None:
    with pytest.raises(ValueError):
        body_nonce(body, is_json=is_json)
