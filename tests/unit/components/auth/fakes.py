"""Test doubles for the auth unit tests: an in-memory nonce store, a claim, a Kraken transport."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradingbot_components.auth.credentials import Credentials
from tradingbot_components.auth.nonce_marks import NonceStoreError
from tradingbot_components.kraken.transport import ExchangeReply, parse_reply

SECRET = base64.b64encode(bytes(range(64))).decode()
API_KEY = "test-api-key-0123456789"


def credentials() -> Credentials:
    return Credentials(api_key=API_KEY, secret_b64=SECRET)


def write_credentials(directory: Path, key: str = API_KEY, secret: str = SECRET) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "api-key").write_text(key + "\n")
    (directory / "api-secret").write_text(secret + "\n")
    return directory


class MemoryNonceStore:
    """Keeps the maximum, like the storage component; `fail` makes every call raise."""

    def __init__(self, mark: int = 0) -> None:
        self.mark = mark
        self.writes: list[int] = []
        self.fail = False

    async def load(self) -> int:
        if self.fail:
            raise NonceStoreError("storage at memory:// is unreachable: test")
        return self.mark

    async def raise_to(self, mark: int) -> int:
        if self.fail:
            raise NonceStoreError("storage at memory:// is unreachable: test")
        self.writes.append(mark)
        self.mark = max(self.mark, mark)
        return self.mark


@dataclass
class Claim:
    """A KeyHolder that is held or not, as the test says."""

    held: bool = True

    async def acquire(self) -> None:
        self.held = True

    async def release(self) -> None:
        self.held = False

    def set_on_lost(self, callback: Callable[[str], None]) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"kind": "test", "held": self.held}


@dataclass
class ScriptedTransport:
    """Answers private requests from a script of `(status, body)`; records what was sent."""

    answers: list[tuple[int, Any]]
    sent: list[tuple[str, str, Mapping[str, str]]] = field(default_factory=list)

    async def private(self, method: str, body: str, headers: Mapping[str, str]) -> ExchangeReply:
        self.sent.append((method, body, headers))
        status, document = self.answers.pop(0)
        text = document if isinstance(document, str) else json.dumps(document)
        return parse_reply(method, status, text)
