"""Kraken REST request signing: the `API-Sign` header, its verifier, and the body encodings it covers.

Pure functions. `API-Sign = b64(HMAC-SHA512(b64decode(secret), path + SHA256(str(nonce) + body)))`, where
`body` is the exact encoded POST body (it includes the nonce); the simulator verifies with the same code.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


class BodyFormat(enum.StrEnum):
    """How a private request body is encoded; the signature covers the exact text sent either way."""

    FORM = "application/x-www-form-urlencoded"  # Kraken's documented default
    JSON = "application/json"  # accepted too; clients use it for AddOrderBatch/CancelOrderBatch


def _decode_secret(secret_b64: str) -> bytes:
    try:
        return base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the secret itself.
        raise ValueError(
            "API secret is not valid base64: copy the private key exactly as Kraken shows it "
            "(no spaces or line breaks)"
        ) from None


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def sign(url_path: str, nonce: int | str, post_data: str | bytes, secret_b64: str) -> str:
    """The `API-Sign` header value for one private request.

    `url_path` is the path from `/0/private/` on; `post_data` is the exact body sent, nonce included.
    """
    if not url_path.startswith("/"):
        raise ValueError(f"url_path must be the path from '/0/private/...', got {url_path!r}")
    inner = hashlib.sha256(str(nonce).encode() + _as_bytes(post_data)).digest()
    mac = hmac.new(_decode_secret(secret_b64), url_path.encode() + inner, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def verify(url_path: str, nonce: int | str, post_data: str | bytes, secret_b64: str, signature: str) -> bool:
    """Whether `signature` is the `API-Sign` Kraken expects; a constant-time compare."""
    expected = sign(url_path, nonce, post_data, secret_b64)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _scalar_text(name: str, value: object) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(
        f"{name}={value!r} is a {type(value).__name__}; pass a Decimal or str for prices and volumes "
        "so they are sent exactly"
    )


def _form_pairs(params: Mapping[str, object]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            # Kraken's nested form fields: close[ordertype]=limit&close[price]=...
            pairs.extend(
                (f"{name}[{key}]", _scalar_text(f"{name}[{key}]", item))
                for key, item in value.items()
                if item is not None
            )
        elif isinstance(value, Sequence) and not isinstance(value, str):
            pairs.append((name, ",".join(_scalar_text(name, item) for item in value)))
        else:
            pairs.append((name, _scalar_text(name, value)))
    return pairs


def encode_form(params: Mapping[str, object]) -> str:
    """URL-encode a body in insertion order.

    Values: str, int, bool (`true`/`false`), Decimal (exact), a list (Kraken's comma lists), a mapping
    (`close[ordertype]=...`), or None (omitted). Floats are refused: they cannot carry exact amounts.
    """
    return urllib.parse.urlencode(_form_pairs(params))


def _json_value(name: str, value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _json_value(f"{name}.{key}", item) for key, item in value.items() if item is not None}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_json_value(name, item) for item in value]
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")  # Kraken's decimal strings
    raise TypeError(
        f"{name}={value!r} is a {type(value).__name__}; pass a Decimal or str for prices and volumes "
        "so they are sent exactly"
    )


def encode_json(params: Mapping[str, object]) -> str:
    """Compact JSON body (any nesting, e.g. AddOrderBatch `orders`); Decimals become decimal strings."""
    body = {name: _json_value(name, value) for name, value in params.items() if value is not None}
    return json.dumps(body, separators=(",", ":"))


def encode_body(params: Mapping[str, object], nonce: int, body_format: BodyFormat = BodyFormat.FORM) -> str:
    """The body to sign and send: `nonce` first, then `params` in order."""
    if "nonce" in params:
        raise ValueError("pass the nonce as the `nonce` argument, not inside params")
    merged: dict[str, object] = {"nonce": nonce, **params}
    return encode_form(merged) if body_format is BodyFormat.FORM else encode_json(merged)


def nonce_from_body(post_data: str | bytes, body_format: BodyFormat = BodyFormat.FORM) -> int:
    """The nonce inside a received body (for a simulator verifying requests)."""
    text = post_data.decode() if isinstance(post_data, bytes) else post_data
    raw: object
    if body_format is BodyFormat.FORM:
        values = urllib.parse.parse_qs(text, keep_blank_values=True).get("nonce", [])
        raw = values[0] if len(values) == 1 else None
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"body is not valid JSON: {error}") from None
        raw = document.get("nonce") if isinstance(document, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        raise ValueError("body has no single unsigned integer `nonce` field")
    return int(raw)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A private request ready to POST: the exact body and the headers that authenticate it."""

    url_path: str
    body: str
    nonce: int
    headers: Mapping[str, str]


def sign_request(
    url_path: str,
    params: Mapping[str, object],
    *,
    nonce: int,
    api_key: str,
    secret_b64: str,
    body_format: BodyFormat = BodyFormat.FORM,
) -> SignedRequest:
    """Encode `params` with `nonce`, sign the result, and return body plus `API-Key`/`API-Sign` headers."""
    body = encode_body(params, nonce, body_format)
    headers = {
        "API-Key": api_key,
        "API-Sign": sign(url_path, nonce, body, secret_b64),
        "Content-Type": body_format.value,
    }
    return SignedRequest(url_path=url_path, body=body, nonce=nonce, headers=headers)
