"""Root filesystems for builds: the cached Debian base, copies, and chroot runs with the mounts a RUN needs.

Everything here runs as root (debootstrap, chroot, mount). Nothing is removed before what is mounted under it
is unmounted, so an interrupted build can never take the host's /dev or /proc with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_CA = "/run/imagebuild/ca.crt"  # /run is left out of the image layer
# Passed to RUN steps from the host, never stored in the image: Docker's predefined proxy ARGs, pip's index.
PASSTHROUGH = (
    "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST",
)  # fmt: skip


def log(message: str) -> None:
    print(f"[image {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BaseImage:
    """A Dockerfile base image the builder can provide without a registry, and the config it starts with."""

    name: str
    suite: str
    mirror: str
    packages: tuple[str, ...]
    version: str

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8"}

    @property
    def cmd(self) -> list[str]:
        return ["python3"]

    @property
    def identity(self) -> str:
        return f"{self.suite}:{','.join(self.packages)}:v{self.version}"

    def cache_dir(self, cache: Path) -> Path:
        return cache / f"rootfs-{self.suite}-python-v{self.version}"


def mounts_under(path: Path) -> list[Path]:
    prefix = str(path.resolve()).rstrip("/") + "/"
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix) or point == prefix[:-1]:
            found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_under(path: Path) -> None:
    for point in mounts_under(path):
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], check=True)


def remove_tree(path: Path) -> None:
    """rm -rf that first unmounts anything under `path` and never crosses into another filesystem."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_under(path)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)


def discard_tree(path: Path, trash: Path) -> None:
    """remove_tree in the background: a rootfs has tens of thousands of files, and the build need not wait."""
    if not path.exists():
        return
    unmount_under(path)
    trash.mkdir(parents=True, exist_ok=True)
    target = trash / f"{path.name}.{os.getpid()}.{time.monotonic_ns()}"
    path.rename(target)
    subprocess.Popen(
        ["rm", "-rf", "--one-file-system", str(target)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def copy_tree(source: Path, dest: Path) -> None:
    """A full copy (owners, modes, links, hard links), reflinked where the filesystem can."""
    remove_tree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(dest)], check=True)


def with_heartbeat(what: str, argv: Sequence[str], logfile: Path) -> None:
    """Run a long command with its output in `logfile` and a line every 20 s, so it never looks hung."""
    start = time.monotonic()
    with logfile.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        while True:
            try:
                process.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                log(f"{what}: still working ({time.monotonic() - start:.0f}s)")
    if process.returncode != 0:
        sys.stderr.write(logfile.read_text(errors="replace")[-4000:])
        raise SystemExit(f"{what} failed (exit {process.returncode}); full log: {logfile}")
    log(f"{what}: done in {time.monotonic() - start:.0f}s")


def ensure_base(base: BaseImage, cache: Path) -> Path:
    """The base rootfs, made once with debootstrap and cached (atomic .partial rename); returns its path."""
    dest = base.cache_dir(cache)
    rootfs = dest / "rootfs"
    if (rootfs / "usr" / "bin" / "python3").exists():
        return rootfs
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap is missing: run 'make node' (hack/install-node-deps.sh) first")
    partial = dest.with_name(dest.name + ".partial")
    remove_tree(partial)
    partial.mkdir(parents=True)
    log(f"base {base.name}: debootstrap {base.suite} with {', '.join(base.packages)} (a few minutes, once)")
    with_heartbeat(
        "debootstrap",
        [
            "debootstrap", "--variant=minbase", f"--include={','.join(base.packages)}",
            base.suite, str(partial / "rootfs"), base.mirror,
        ],
        partial / "debootstrap.log",
    )  # fmt: skip
    unmount_under(partial)
    root = partial / "rootfs"
    # What official images leave out: package lists, caches, logs, the build host's name and resolver.
    for junk in ("var/lib/apt/lists", "var/cache/apt", "var/log", "var/cache/debconf"):
        for child in (root / junk).glob("*"):
            remove_tree(child)
    for file in ("etc/resolv.conf", "etc/hostname"):
        (root / file).write_text("")
    packages = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Package} ${Version}\n"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (partial / "packages.txt").write_text(packages)
    remove_tree(dest)
    partial.rename(dest)
    return dest / "rootfs"


@contextmanager
def build_mounts(root: Path) -> Iterator[dict[str, str]]:
    """What a RUN step sees besides the rootfs: /proc, the host's /dev and resolver, and the host's CA bundle
    (a build-time setting like Docker's proxy ARGs; it is left out of the image). Yields the extra env."""
    mounted: list[Path] = []
    extra = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    try:
        for name in ("proc", "dev"):
            (root / name).mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        mounted.append(root / "proc")
        subprocess.run(["mount", "--bind", "/dev", str(root / "dev")], check=True)
        mounted.append(root / "dev")
        resolv = root / "etc" / "resolv.conf"
        if resolv.is_symlink():
            resolv.unlink()
        resolv.touch()
        subprocess.run(["mount", "--bind", "/etc/resolv.conf", str(resolv)], check=True)
        mounted.append(resolv)
        if HOST_CA_BUNDLE.exists():
            ca = root / BUILD_CA.lstrip("/")
            ca.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HOST_CA_BUNDLE, ca)
            extra.update(PIP_CERT=BUILD_CA, SSL_CERT_FILE=BUILD_CA, REQUESTS_CA_BUNDLE=BUILD_CA)
        yield extra
    finally:
        for point in reversed(mounted):
            if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(point)], check=False)
        shutil.rmtree(root / "run" / "imagebuild", ignore_errors=True)


def lookup_user(root: Path, user: str) -> tuple[int, int]:
    """uid and gid for a USER value ("name", "uid", "uid:gid", "name:group") from the rootfs' own files; a
    uid without a group takes its passwd entry's group, or 0 without an entry (as runc does)."""
    name, _, group = user.partition(":")

    def entries(file: str) -> list[list[str]]:
        path = root / "etc" / file
        return [line.split(":") for line in path.read_text().splitlines()] if path.exists() else []

    passwd = entries("passwd")
    by_uid = {f[2]: f for f in passwd if len(f) > 3}
    by_name = {f[0]: f for f in passwd if len(f) > 3}
    if name.isdigit():
        uid, gid = int(name), int(by_uid[name][3]) if name in by_uid else 0
    elif name in by_name:
        uid, gid = int(by_name[name][2]), int(by_name[name][3])
    else:
        raise SystemExit(f"USER {user}: no user {name!r} in the image's /etc/passwd")
    if group.isdigit():
        gid = int(group)
    elif group:
        groups = {f[0]: f for f in entries("group") if len(f) > 2}
        if group not in groups:
            raise SystemExit(f"USER {user}: no group {group!r} in the image's /etc/group")
        gid = int(groups[group][2])
    return uid, gid


def run_in(root: Path, argv: Sequence[str], env: Mapping[str, str], workdir: str, user: str) -> None:
    """Run a command chrooted into `root` (a Dockerfile RUN)."""
    uid, gid = lookup_user(root, user) if user and user not in ("0", "root", "0:0") else (0, 0)
    (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)

    def enter() -> None:
        os.chroot(root)
        os.chdir(workdir or "/")
        if gid:
            os.setgroups([gid])
            os.setgid(gid)
        if uid:
            os.setuid(uid)

    result = subprocess.run(list(argv), env=dict(env), preexec_fn=enter, check=False)
    if result.returncode != 0:
        raise SystemExit(f"RUN {' '.join(argv)} failed with exit code {result.returncode}")
