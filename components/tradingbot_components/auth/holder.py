"""One live auth process per API key: two writers of one key's nonces end in `EAPI:Invalid nonce`.

`KeyHolder` is what the auth component needs from a lock; `FileKeyHolder` is the local one: an exclusive
`fcntl` lock on `<runtime dir>/auth-<key id>.lock`, which the kernel releases when the process dies (even by
SIGKILL), so a crash never leaves the key stuck. In Kubernetes a Lease does the same job (`lease.py`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

RUNTIME_DIR_VARIABLE = "TRADINGBOT_RUNTIME_DIR"

LostCallback = Callable[[str], None]


class HolderConflict(RuntimeError):
    """Another live auth holds the key; the message names it and what to do."""


class KeyHolder(Protocol):
    """An exclusive claim on one API key for the life of the process."""

    @property
    def held(self) -> bool: ...

    async def acquire(self) -> None:
        """Take the claim, or raise `HolderConflict` when another live holder has it."""

    async def release(self) -> None: ...

    def set_on_lost(self, callback: LostCallback) -> None:
        """`callback(reason)` if the claim is lost while the process runs."""

    def describe(self) -> dict[str, Any]:
        """What `/healthz` shows (no secrets)."""


def runtime_dir(environ: Mapping[str, str]) -> Path:
    """`$TRADINGBOT_RUNTIME_DIR`, else `tradingbot-runtime` in the system temp dir."""
    configured = environ.get(RUNTIME_DIR_VARIABLE)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "tradingbot-runtime"


def process_identity(environ: Mapping[str, str]) -> str:
    """The pod name in Kubernetes, else `host-pid`."""
    return environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class FileKeyHolder:
    """An `fcntl.flock` on a lock file named by the key id; the holder's identity is written inside it."""

    def __init__(self, directory: Path, key_id: str, identity: str) -> None:
        self.path = directory / f"auth-{key_id}.lock"
        self.key_id = key_id
        self.identity = identity
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    async def acquire(self) -> None:
        if self._fd is not None:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise HolderConflict(
                f"another auth process ({holder}) holds API key {self.key_id}: lock file {self.path} is "
                "locked. Two signers of one key make Kraken reject nonces ('EAPI:Invalid nonce'); stop the "
                "other one first"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.identity}\n".encode(), 0)
        self._fd = fd
        log.info("holding API key %s through %s", self.key_id, self.path, extra={"key_id": self.key_id})

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # The file stays: unlinking a lock file lets a waiter lock an inode nobody else opens.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            log.info("released API key %s", self.key_id, extra={"key_id": self.key_id})

    def set_on_lost(self, callback: LostCallback) -> None:
        """A lock held through an open descriptor cannot be lost while the process lives."""

    def describe(self) -> dict[str, Any]:
        return {"kind": "lock-file", "path": str(self.path), "identity": self.identity, "held": self.held}


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 256, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "identity unknown"
