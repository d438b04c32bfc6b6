"""Command line of the image builder (run as `PYTHONPATH=hack python3 -m imagebuild`, stdlib only).

build   --dockerfile Dockerfile --context . --out IMAGE.tar [--build-arg K=V ...]
        the Dockerfile's last stage as an OCI archive; skipped when IMAGE.tar is up to date
binary  --binary PATH --out IMAGE.tar      one static binary as the whole image (the pods' sandbox)
inspect IMAGE.tar                          the image config as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from imagebuild import dockerfile as df
from imagebuild.build import Builder
from imagebuild.context import BuildContext
from imagebuild.oci import ImageConfig, read_archive, write_archive
from imagebuild.rootfs import BaseImage, log


def _bases() -> dict[str, BaseImage]:
    """The base images the builder provides, from hack/versions.env (passed in by hack/image.sh)."""
    env = os.environ
    base = BaseImage(
        name="python:3.11-slim-bookworm",
        suite=env.get("BASE_DEBIAN_SUITE", "bookworm"),
        mirror=env.get("BASE_DEBIAN_MIRROR", "http://deb.debian.org/debian"),
        packages=tuple(env.get("BASE_DEBIAN_PACKAGES", "python3,python3-venv,python-is-python3").split(",")),
        version=env.get("BASE_ROOTFS_VERSION", "1"),
    )
    return {base.name: base}


def _cache() -> Path:
    return Path(os.environ.get("TRADINGBOT_CACHE", Path.home() / ".cache" / "tradingbot"))


def build(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("error: building the image without Docker needs root (chroot, mounts)", file=sys.stderr)
        return 1
    build_args = dict(pair.split("=", 1) for pair in args.build_arg)
    builder = Builder(
        df.load(Path(args.dockerfile)),
        BuildContext(Path(args.context).resolve()),
        _bases(),
        _cache(),
        build_args,
    )
    out = Path(args.out)
    key = builder.final_key()
    stamp = stamp_path(out)
    if out.exists() and stamp.exists() and json.loads(stamp.read_text())["key"] == key:
        log(f"{out.name}: up to date")
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    builder.build(out)
    stamp.write_text(json.dumps({"key": key, "build_args": build_args}, indent=1) + "\n")
    return 0


def stamp_path(archive: Path) -> Path:
    """Next to an archive: the key it was built under and its build args (to tell whether it is up to date)."""
    return archive.with_name(archive.name + ".json")


def binary(args: argparse.Namespace) -> int:
    source = Path(args.binary)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rootfs"
        root.mkdir()
        shutil.copy2(source, root / source.name)
        config = ImageConfig(entrypoint=[f"/{source.name}"], user="65535:65535")
        write_archive(root, config, Path(args.out), [f"COPY {source.name} /"])
    return 0


def inspect(args: argparse.Namespace) -> int:
    manifest, config = read_archive(Path(args.archive))
    json.dump({"manifest": manifest, "config": config}, sys.stdout, indent=2)
    print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imagebuild", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("build")
    p.add_argument("--dockerfile", default="Dockerfile")
    p.add_argument("--context", default=".")
    p.add_argument("--out", required=True)
    p.add_argument("--build-arg", action="append", default=[])
    p.set_defaults(run=build)
    p = commands.add_parser("binary")
    p.add_argument("--binary", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=binary)
    p = commands.add_parser("inspect")
    p.add_argument("archive")
    p.set_defaults(run=inspect)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
