"""The API key pair, read once from the credentials directory, and the key id that names it elsewhere.

The key and secret never leave this module's objects in readable form: `repr` hides them, and every other
component, lock file, Lease and storage record refers to the key by `key_id`, a one-way hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

KEY_FILE = "api-key"
SECRET_FILE = "api-secret"


class CredentialsError(ValueError):
    """The credentials directory cannot give a usable key pair; the message says which file and why."""


def key_id(api_key: str) -> str:
    """A stable, non-reversible name for an API key: `key-` and 16 hex digits of its SHA-256.

    Lowercase hex keeps it valid as a Lease name, a file name and a storage key at once.
    """
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Credentials:
    """One Kraken API key pair. `repr` shows only the key id."""

    api_key: str = field(repr=False)
    secret_b64: str = field(repr=False)
    key_id: str = ""

    def __post_init__(self) -> None:
        if not self.key_id:
            object.__setattr__(self, "key_id", key_id(self.api_key))


def _read(directory: Path, name: str) -> str:
    path = directory / name
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise CredentialsError(
            f"credentials directory {directory} has no {name!r} file "
            f"(expected files {KEY_FILE!r} and {SECRET_FILE!r}, e.g. from the credentials Secret)"
        ) from None
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not text:
        raise CredentialsError(f"{path} is empty")
    return text


def load_credentials(directory: Path | None) -> Credentials:
    """Read `api-key` and `api-secret` from `directory`; raise `CredentialsError` naming what is wrong."""
    if directory is None:
        raise CredentialsError("auth needs --credentials DIR (a directory with api-key and api-secret)")
    if not directory.is_dir():
        raise CredentialsError(f"credentials directory {directory} does not exist or is not a directory")
    api_key = _read(directory, KEY_FILE)
    secret = _read(directory, SECRET_FILE)
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the secret itself.
        raise CredentialsError(
            f"{directory / SECRET_FILE} is not valid base64: copy the private key exactly as Kraken shows it"
        ) from None
    if not decoded:
        raise CredentialsError(f"{directory / SECRET_FILE} decodes to an empty secret")
    return Credentials(api_key=api_key, secret_b64=secret)
