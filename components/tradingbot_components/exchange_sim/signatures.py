"""How the simulated exchange reads a private request's nonce and checks its `API-Sign`, from Kraken's
"Spot REST Authentication" guide rather than the clients' `kraken.signing` (the judge keeps its own copy).

The guide: `API-Sign` is the base64 of HMAC-SHA512, keyed with the base64-decoded API secret, over the
URI path (`/0/private/<Method>`) followed by the raw SHA256 digest of the nonce's text and the exact POST
body (which itself contains the nonce). Pure functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import urllib.parse


def body_nonce(body: str, *, is_json: bool) -> int:
    """The request's nonce: one unsigned integer `nonce` field of the form or JSON body."""
    candidates: list[object]
    if is_json:
        try:
            document = json.loads(body)
        except ValueError:
            raise ValueError("body is not JSON") from None
        candidates = [document["nonce"]] if isinstance(document, dict) and "nonce" in document else []
    else:
        candidates = list(urllib.parse.parse_qs(body, keep_blank_values=True).get("nonce", []))
    if len(candidates) != 1:
        raise ValueError("body needs exactly one nonce")
    (value,) = candidates
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("nonce is not an unsigned integer")
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        raise ValueError("nonce is not an unsigned integer")
    return int(text)


def expected_signature(url_path: str, nonce: int, body: str, secret_b64: str) -> str:
    """The `API-Sign` Kraken computes for this request; ValueError when the secret is not base64."""
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the account's secret is not base64") from None
    digest = hashlib.sha256(f"{nonce}{body}".encode()).digest()
    mac = hmac.new(key, url_path.encode() + digest, hashlib.sha512).digest()
    return base64.b64encode(mac).decode("ascii")


def signature_matches(url_path: str, nonce: int, body: str, secret_b64: str, api_sign: str) -> bool:
    """Whether `api_sign` is the request's signature (compared in constant time)."""
    expected = expected_signature(url_path, nonce, body, secret_b64).encode("ascii")
    return hmac.compare_digest(expected, api_sign.encode("utf-8", "replace"))
