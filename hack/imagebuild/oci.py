"""OCI image archives from a root filesystem: one layer, a config, a manifest, an index, in a tar.

What `ctr images import` reads. The index carries no `org.opencontainers.image.ref.name` annotation: with one,
containerd also registers an `import-<date>:<ref>` name and the CRI can then resolve the image to that name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform
import shutil
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
INDEX = "application/vnd.oci.image.index.v1+json"

# Left empty in an image, as Docker does: the runtime mounts or populates them.
EMPTY_DIRS = ("dev", "proc", "sys", "run", "tmp")


def architecture() -> str:
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@dataclass
class ImageConfig:
    """The runtime part of an OCI image config (the fields a Dockerfile sets)."""

    user: str = ""
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    working_dir: str = ""
    exposed_ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        config: dict[str, Any] = {"Env": self.env}
        if self.user:
            config["User"] = self.user
        if self.entrypoint is not None:
            config["Entrypoint"] = self.entrypoint
        if self.cmd is not None:
            config["Cmd"] = self.cmd
        if self.working_dir:
            config["WorkingDir"] = self.working_dir
        if self.exposed_ports:
            config["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.labels:
            config["Labels"] = self.labels
        return config


class _HashingWriter(io.RawIOBase):
    """Counts and hashes what passes through to `target`: a layer has two digests, of the compressed blob
    and of the tar inside it (its diff_id)."""

    def __init__(self, target: BinaryIO | gzip.GzipFile) -> None:
        self.target, self.sha, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha.update(view)
        self.size += len(view)
        self.target.write(view)
        return len(view)


def _filter_for(root: Path) -> Any:
    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        # Keep the directories themselves, never what a build left in them.
        if len(parts) > 1 and parts[0] in EMPTY_DIRS:
            return None
        info.uname = info.gname = ""
        return info

    return keep


def write_layer(root: Path, blobs: Path, compresslevel: int = 1) -> tuple[str, str, int]:
    """Tar+gzip `root` into blobs/; returns (compressed digest, uncompressed diff_id, compressed size)."""
    blobs.mkdir(parents=True, exist_ok=True)
    partial = blobs / "layer.partial"
    with partial.open("wb") as raw:
        hashing = _HashingWriter(raw)
        with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=compresslevel, mtime=0) as gz:
            uncompressed = _HashingWriter(gz)
            with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                keep = _filter_for(root)
                for entry in sorted(root.iterdir()):
                    tar.add(entry, arcname=entry.name, recursive=True, filter=keep)
    digest = hashing.sha.hexdigest()
    partial.rename(blobs / digest)
    return f"sha256:{digest}", f"sha256:{uncompressed.sha.hexdigest()}", hashing.size


def _blob(blobs: Path, body: Mapping[str, Any]) -> tuple[str, int]:
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def write_archive(
    root: Path,
    config: ImageConfig,
    out: Path,
    history: Iterable[str] = (),
    created: str = "1970-01-01T00:00:00Z",
) -> str:
    """Write `root` as a one-layer OCI image archive at `out`; returns the manifest digest."""
    layout = out.with_name(out.name + ".layout")
    if layout.exists():
        _rmtree(layout)
    blobs = layout / "blobs" / "sha256"
    layer_digest, diff_id, layer_size = write_layer(root, blobs)
    arch = architecture()
    config_digest, config_size = _blob(
        blobs,
        {
            "architecture": arch,
            "os": "linux",
            "created": created,
            "config": config.to_json(),
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": step} for step in history],
        },
    )
    manifest_digest, manifest_size = _blob(
        blobs,
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": layer_size}],
        },
    )
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "platform": {"architecture": arch, "os": "linux"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        for name in ("oci-layout", "index.json", "blobs"):
            tar.add(layout / name, arcname=name)
    partial.rename(out)
    _rmtree(layout)
    return manifest_digest


def read_archive(archive: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, config) of a one-image archive written by `write_archive` (or any OCI layout tar)."""
    with tarfile.open(archive) as tar:

        def load(name: str) -> dict[str, Any]:
            member = tar.extractfile(name)
            assert member is not None, f"{archive} has no {name}"
            return json.loads(member.read())

        index = load("index.json")
        manifest = load("blobs/sha256/" + index["manifests"][0]["digest"].split(":", 1)[1])
        config = load("blobs/sha256/" + manifest["config"]["digest"].split(":", 1)[1])
    return manifest, config


def _rmtree(path: Path) -> None:
    shutil.rmtree(path)
