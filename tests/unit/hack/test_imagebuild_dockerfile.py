"""hack/imagebuild reads a Dockerfile the way `docker build` does, and refuses what it cannot do the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagebuild import dockerfile as df
from imagebuild.build import Builder
from imagebuild.context import BuildContext, excluded, parse_ignore
from imagebuild.rootfs import BaseImage

ROOT = Path(__file__).resolve().parents[3]
BASE = BaseImage("python:3.11-slim-bookworm", "bookworm", "http://deb.invalid/debian", ("python3",), "1")


def test_continuations_comments_and_stages() -> None:
    parsed = df.parse(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=python:3.11-slim-bookworm\n"
        "FROM ${BASE} AS builder\n"
        "RUN echo one \\\n"
        "    # a comment inside the continuation\n"
        "    && echo two\n"
        "FROM ${BASE}\n"
        "COPY --from=builder /opt/venv /opt/venv\n"
    )
    assert [a.text for a in parsed.global_args] == ["BASE=python:3.11-slim-bookworm"]
    assert [(s.name, s.base) for s in parsed.stages] == [("builder", "${BASE}"), (None, "${BASE}")]
    assert parsed.stages[0].instructions[0].text == "echo one && echo two"
    copy = parsed.stages[1].instructions[0]
    assert copy.flags == {"from": "builder"} and copy.text == "/opt/venv /opt/venv"


def test_unsupported_instructions_are_refused_with_the_line() -> None:
    with pytest.raises(df.DockerfileError, match=r"line 2: HEALTHCHECK is not supported"):
        df.parse("FROM python:3.11-slim-bookworm\nHEALTHCHECK CMD true\n")


def test_variable_substitution_follows_docker() -> None:
    variables = {"PATH": "/usr/bin", "EXTRAS": "postgres", "EMPTY": ""}
    assert df.substitute("/opt/venv/bin:$PATH", variables) == "/opt/venv/bin:/usr/bin"
    assert df.substitute("${EXTRAS:+[$EXTRAS]}", variables) == "[postgres]"
    assert df.substitute("${EMPTY:+[x]}${MISSING:-fallback}", variables) == "fallback"
    assert df.substitute(r"\$PATH", variables) == "$PATH"
    assert df.key_values('a=1 b="two words" c=$PATH', variables) == [
        ("a", "1"),
        ("b", "two words"),
        ("c", "/usr/bin"),
    ]
    assert df.exposed_ports("8080 8081/udp", {}) == ["8080/tcp", "8081/udp"]


def test_dockerignore_allow_list_semantics() -> None:
    rules = parse_ignore("*\n!pyproject.toml\n!operator/\n**/__pycache__\n**/*.py[co]\n")
    assert excluded(rules, "Makefile")
    assert excluded(rules, "tests/conftest.py")
    assert not excluded(rules, "pyproject.toml")
    assert not excluded(rules, "operator/pkg/module.py")
    assert excluded(rules, "operator/pkg/__pycache__/module.cpython-311.pyc")
    assert excluded(rules, "operator/pkg/stale.pyc")


def test_context_copies_only_what_dockerignore_allows(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*\n!src/\n**/__pycache__\n")
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / "a.py").write_text("a = 1\n")
    (tmp_path / "src" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (tmp_path / "secret.env").write_text("KEY=1\n")
    context = BuildContext(tmp_path)
    assert context.files_under("src/") == ["src/a.py"]
    before = context.digest(["src/"])
    (tmp_path / "src" / "__pycache__" / "a.pyc").write_bytes(b"\1")  # ignored files do not change the key
    assert BuildContext(tmp_path).digest(["src/"]) == before
    (tmp_path / "src" / "a.py").write_text("a = 2\n")
    assert BuildContext(tmp_path).digest(["src/"]) != before


def _builder(text: str, context: Path, **build_args: str) -> Builder:
    return Builder(df.parse(text), BuildContext(context), {BASE.name: BASE}, context / "cache", build_args)


def test_the_project_dockerfile_plans_the_runtime_config_without_building() -> None:
    builder = _builder((ROOT / "Dockerfile").read_text(), ROOT, VERSION="9.9.9")
    _, configs = builder.plan()
    config = configs[len(builder.dockerfile.stages) - 1].config()
    assert config.user == "10001:10001"
    assert config.entrypoint == ["tradingbot-operator"]
    assert config.cmd is None  # a new ENTRYPOINT drops the base image's CMD, as Docker does
    assert config.exposed_ports == ["8080/tcp", "8081/tcp", "8082/tcp"]
    assert "PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in config.env
    assert config.labels["org.opencontainers.image.version"] == "9.9.9"


def test_step_keys_change_only_after_what_changed(tmp_path: Path) -> None:
    (tmp_path / "dep.txt").write_text("deps\n")
    (tmp_path / "app.py").write_text("v = 1\n")
    text = (
        "FROM python:3.11-slim-bookworm\n"
        "COPY dep.txt ./\nRUN install deps\n"
        "COPY app.py ./\nRUN install app\n"
        "ARG REVISION=unknown\nLABEL revision=$REVISION\n"
    )
    keys, _ = _builder(text, tmp_path).plan()
    (tmp_path / "app.py").write_text("v = 2\n")
    changed, _ = _builder(text, tmp_path).plan()
    assert changed[0][:2] == keys[0][:2]  # the dependency layer stays cached
    assert changed[0][2:] != keys[0][2:]
    relabelled, _ = _builder(text, tmp_path, REVISION="abc").plan()
    assert relabelled[0][:5] == changed[0][:5] and relabelled[0][-1] != changed[0][-1]


def test_unknown_base_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"can only provide python:3\.11-slim-bookworm"):
        _builder("FROM alpine:3\nRUN true\n", tmp_path).plan()
