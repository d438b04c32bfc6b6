"""The image `make image` built without Docker agrees with the Dockerfile, read here on its own (not through
hack/imagebuild's parser): user, entry point, workdir, exposed ports, and the project version installed in it.

Needs the archive (make image; make test builds it first where it can). Skipped when there is none, or when it
is older than the sources (its recorded key differs from what a build would compute now).
"""

from __future__ import annotations

import json
import re
import tarfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagebuild import dockerfile as df
from imagebuild.__main__ import _bases, stamp_path
from imagebuild.build import Builder
from imagebuild.context import BuildContext

ROOT = Path(__file__).resolve().parents[3]
ARCHIVE = ROOT / "build" / "image" / "tradingbot.oci.tar"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _final_stage(text: str) -> str:
    """The Dockerfile's last stage, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return re.split(r"^FROM .*$", joined, flags=re.MULTILINE)[-1]


def _instruction(stage: str, keyword: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"^{keyword}\s+(.+)$", stage, re.MULTILINE)]


@pytest.fixture(scope="module")
def image(prepared: None) -> Iterator[tuple[dict[str, Any], tarfile.TarFile]]:
    """The archive's image config, and its one layer as a tar stream (after `make test`'s build of it)."""
    if not ARCHIVE.exists():
        pytest.skip(f"no image archive at {ARCHIVE}: run 'make image'")
    stamp = stamp_path(ARCHIVE)
    recorded = json.loads(stamp.read_text()) if stamp.exists() else {"key": "", "build_args": {}}
    builder = Builder(
        df.load(ROOT / "Dockerfile"), BuildContext(ROOT), _bases(), ROOT / "unused", recorded["build_args"]
    )
    if builder.final_key() != recorded["key"]:
        pytest.skip(f"{ARCHIVE} is older than the sources: run 'make image'")
    with tarfile.open(ARCHIVE) as outer:

        def member(name: str) -> Any:
            found = outer.extractfile(name)
            assert found is not None, f"{ARCHIVE} has no {name}"
            return found

        index = json.load(member("index.json"))
        manifest = json.load(member("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        config = json.load(member("blobs/sha256/" + manifest["config"]["digest"][7:]))
        with tarfile.open(
            fileobj=member("blobs/sha256/" + manifest["layers"][0]["digest"][7:]), mode="r|gz"
        ) as layer:
            yield config, layer


def test_runtime_config_matches_the_dockerfile(image: tuple[dict[str, Any], tarfile.TarFile]) -> None:
    config = image[0]["config"]
    stage = _final_stage((ROOT / "Dockerfile").read_text())
    (user,) = _instruction(stage, "USER")
    (entrypoint,) = _instruction(stage, "ENTRYPOINT")
    workdirs = _instruction(stage, "WORKDIR")
    ports = [p for line in _instruction(stage, "EXPOSE") for p in line.split()]
    assert config["User"] == user
    assert config["Entrypoint"] == json.loads(entrypoint)
    assert config.get("Cmd") is None
    assert config.get("WorkingDir", "") == (workdirs[-1] if workdirs else "")
    assert sorted(config["ExposedPorts"]) == sorted(f"{p}/tcp" for p in ports)
    assert config["Labels"]["org.opencontainers.image.version"] == VERSION


def test_the_project_is_installed_at_its_version_with_both_entry_points(
    image: tuple[dict[str, Any], tarfile.TarFile],
) -> None:
    _, layer = image
    wanted = {"opt/venv/bin/tradingbot-operator", "opt/venv/bin/tradingbot-component", "etc/passwd"}
    found: dict[str, bytes] = {}
    metadata = re.compile(
        r"^opt/venv/lib/python3\.11/site-packages/tradingbot_operator-([^/]+)\.dist-info/METADATA$"
    )
    versions = []
    for member in layer:
        if member.name in wanted or metadata.match(member.name):
            data = layer.extractfile(member)
            content = data.read() if data else b""
            if metadata.match(member.name):
                versions.append(re.search(rb"^Version: (.+)$", content, re.MULTILINE).group(1).decode())  # type: ignore[union-attr]
            else:
                found[member.name] = content
    assert versions == [VERSION]
    assert {"opt/venv/bin/tradingbot-operator", "opt/venv/bin/tradingbot-component"} <= set(found)
    # The non-root user the Dockerfile adds, with the uid the chart and the operator's pods run as.
    assert re.search(rb"^tradingbot:x:10001:10001:", found["etc/passwd"], re.MULTILINE)
