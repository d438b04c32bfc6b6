"""A throwaway PostgreSQL server for tests: `initdb` in a temp dir, `postgres` listening only on a unix
socket in that dir (no TCP port, so parallel runs never collide), one fresh database per test.

The binaries are Debian's (`/usr/lib/postgresql/<major>/bin`, installed by `hack/install-postgres.sh`) or
the first `initdb` on the PATH. `initdb` refuses to run as root, so as root the server runs as the
`postgres` user the Debian package creates. `unavailable_reason()` says why no server can start here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.waiting import wait_until

INSTALL_HINT = "hack/install-postgres.sh installs it (as root, with apt-get)"


def server_binaries() -> Path | None:
    """The newest Debian/Ubuntu PostgreSQL bin dir, else the dir of `initdb` on the PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def server_user() -> str | None:
    """Who runs the server: this user, or `postgres` when this is root (None when root has no such user)."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        return None


def unavailable_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed: pip install -e '.[dev]' (make setup)"
    if server_binaries() is None:
        return f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): {INSTALL_HINT}"
    if server_user() is None:
        return "running as root and there is no 'postgres' user to run the server as (initdb refuses root)"
    return None


@dataclass
class PostgresServer:
    """A running server; `create_database()` gives each test its own database."""

    directory: Path
    user: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] = field(repr=False)

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port=5432 user={self.user} dbname={dbname} connect_timeout=5"

    def create_database(self) -> str:
        """A new empty database; returns its DSN."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def log_text(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back sessions, checkpoint, exit
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_user(user: str) -> dict[str, Any]:
    """Popen arguments that run the child as `user` (only when that is not who we are)."""
    entry = pwd.getpwnam(user)
    if entry.pw_uid == os.geteuid():
        return {}
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def start_postgres() -> PostgresServer:
    """initdb + postgres in a new temp dir; raises RuntimeError (with the server's log) if it does not start."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    binaries, user = server_binaries(), server_user()
    assert binaries is not None and user is not None
    # Not under pytest's tmp dir: that is private to root (0700), and the server may run as another user.
    directory = Path(tempfile.mkdtemp(prefix="tb-pg-"))
    entry = pwd.getpwnam(user)
    os.chown(directory, entry.pw_uid, entry.pw_gid)
    data = directory / "data"
    # fsync=off: the tests kill the storage process, never this server, and a throwaway server need not
    # survive a power cut; with it on, CREATE DATABASE per test and the shutdown checkpoint cost seconds.
    log = (directory / "postgres.log").open("ab")
    try:
        subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"],
            stdout=log, stderr=subprocess.STDOUT, check=True, timeout=120, **_as_user(user),
        )  # fmt: skip
        process = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(data), "-k", str(directory),
             "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, **_as_user(user),
        )  # fmt: skip
    except BaseException:
        log.close()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    server = PostgresServer(directory, user, process, log)
    try:
        wait_until(
            lambda: _accepts(server), timeout=60, interval=0.1, what="PostgreSQL to accept connections"
        )
    except BaseException:
        server.stop()
        raise
    return server


def _accepts(server: PostgresServer) -> bool:
    import psycopg

    if server.process.poll() is not None:
        raise RuntimeError(f"postgres exited with {server.process.returncode}:\n{server.log_text()}")
    try:
        with psycopg.connect(server.dsn(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False
