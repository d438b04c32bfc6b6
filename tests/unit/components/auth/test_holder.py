"""One live auth per key, locally: an flock on a lock file named by the key id."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest

from tradingbot_components.auth.holder import (
    FileKeyHolder,
    HolderConflict,
    process_identity,
    runtime_dir,
)


async def test_a_second_holder_of_the_same_key_is_refused_with_the_first_ones_identity(
    tmp_path: Path,
) -> None:
    first = FileKeyHolder(tmp_path, "key-abc", "host-1")
    second = FileKeyHolder(tmp_path, "key-abc", "host-2")
    await first.acquire()
    assert first.held
    with pytest.raises(HolderConflict, match=r"another auth process \(host-1\) holds API key key-abc"):
        await second.acquire()
    assert not second.held
    await first.release()
    await second.acquire()
    assert second.held and not first.held
    await second.release()


async def test_different_keys_do_not_conflict(tmp_path: Path) -> None:
    holders = [FileKeyHolder(tmp_path, f"key-{n}", "me") for n in range(2)]
    for holder in holders:
        await holder.acquire()
    assert all(holder.held for holder in holders)
    for holder in holders:
        await holder.release()


async def test_the_kernel_frees_the_lock_when_the_holder_dies(tmp_path: Path) -> None:
    """A SIGKILLed auth must not leave the key locked."""
    path = tmp_path / "auth-key-x.lock"
    holder_script = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", holder_script, stdout=PIPE)
    try:
        assert child.stdout is not None
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"locked"
        with pytest.raises(HolderConflict):
            await FileKeyHolder(tmp_path, "key-x", "me").acquire()
    finally:
        child.kill()
        await child.wait()
    holder = FileKeyHolder(tmp_path, "key-x", "me")
    await holder.acquire()
    assert holder.held
    await holder.release()


def test_runtime_dir_comes_from_the_environment_or_the_temp_dir(tmp_path: Path) -> None:
    assert runtime_dir({"TRADINGBOT_RUNTIME_DIR": str(tmp_path)}) == tmp_path
    assert runtime_dir({}) == Path(tempfile.gettempdir()) / "tradingbot-runtime"


def test_identity_is_the_pod_name_or_host_and_pid() -> None:
    assert process_identity({"POD_NAME": "bot-auth-7d9f"}) == "bot-auth-7d9f"
    assert process_identity({}).endswith(f"-{os.getpid()}")
