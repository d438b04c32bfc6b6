"""Reading the key pair from the credentials directory, and naming the key without revealing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.components.auth.fakes import API_KEY, SECRET, write_credentials
from tradingbot_components.auth.credentials import CredentialsError, key_id, load_credentials


def test_loads_the_pair_and_strips_trailing_newlines(tmp_path: Path) -> None:
    loaded = load_credentials(write_credentials(tmp_path / "creds"))
    assert (loaded.api_key, loaded.secret_b64) == (API_KEY, SECRET)
    assert loaded.key_id == key_id(API_KEY)


def test_key_id_is_a_stable_hash_usable_as_lease_and_file_name() -> None:
    ident = key_id(API_KEY)
    assert ident == key_id(API_KEY) != key_id(API_KEY + "x")
    assert ident.startswith("key-") and len(ident) == 20
    assert ident[4:].isalnum() and ident == ident.lower()
    assert API_KEY not in ident


def test_repr_never_shows_the_key_or_the_secret(tmp_path: Path) -> None:
    loaded = load_credentials(write_credentials(tmp_path / "creds"))
    assert API_KEY not in repr(loaded) and SECRET not in repr(loaded)
    assert loaded.key_id in repr(loaded)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: None, "does not exist"),
        (lambda d: (d.mkdir(), (d / "api-secret").write_text(SECRET)), "no 'api-key' file"),
        (lambda d: (d.mkdir(), (d / "api-key").write_text(API_KEY)), "no 'api-secret' file"),
        (lambda d: write_credentials(d, secret="not base64!!"), "not valid base64"),
        (lambda d: write_credentials(d, key="  "), "is empty"),
    ],
)
def test_unusable_directories_are_reported_with_the_file_and_reason(
    tmp_path: Path, setup: object, expected: str
) -> None:
    directory = tmp_path / "creds"
    setup(directory)  # type: ignore[operator]
    with pytest.raises(CredentialsError, match=expected) as raised:
        load_credentials(directory)
    assert "not base64!!" not in str(raised.value)


def test_a_missing_flag_says_what_is_needed() -> None:
    with pytest.raises(CredentialsError, match="--credentials DIR"):
        load_credentials(None)
