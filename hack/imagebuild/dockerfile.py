"""Parse a Dockerfile into stages of typed instructions, and Docker's variable substitution.

Only the instructions the project's Dockerfile uses are supported (FROM, ARG, ENV, RUN, WORKDIR, COPY, LABEL,
USER, EXPOSE, ENTRYPOINT, CMD); anything else is an error naming the line, so the image built without Docker
can never silently differ from `docker build`.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = {"FROM", "ARG", "ENV", "RUN", "WORKDIR", "COPY", "LABEL", "USER", "EXPOSE", "ENTRYPOINT", "CMD"}


class DockerfileError(ValueError):
    pass


@dataclass(frozen=True)
class Instruction:
    keyword: str
    text: str  # everything after the keyword, continuation lines joined
    line: int
    flags: dict[str, str] = field(default_factory=dict)  # --from=..., --chown=...

    def __str__(self) -> str:
        flags = " ".join(f"--{k}={v}" for k, v in self.flags.items())
        return " ".join(part for part in (self.keyword, flags, self.text) if part)


@dataclass
class Stage:
    base: str  # as written, variables not yet substituted
    name: str | None
    index: int
    instructions: list[Instruction] = field(default_factory=list)


@dataclass
class Dockerfile:
    global_args: list[Instruction]  # ARGs before the first FROM
    stages: list[Stage]

    def stage(self, ref: str) -> Stage:
        for stage in self.stages:
            if stage.name == ref or str(stage.index) == ref:
                return stage
        raise DockerfileError(f"no stage named {ref!r}")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, joined text) per instruction; comments and blank lines dropped."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        lines.append((start, " ".join(part for part in pending if part)))
        pending = []
    if pending:
        lines.append((start, " ".join(pending)))
    return lines


def _split_flags(rest: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        key, _, value = token[2:].partition("=")
        flags[key] = value
        rest = rest.lstrip()
    return flags, rest


def parse(text: str) -> Dockerfile:
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    for number, line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword not in SUPPORTED:
            raise DockerfileError(f"line {number}: {keyword} is not supported by the image builder")
        flags, rest = _split_flags(rest.strip()) if keyword in ("COPY", "FROM") else ({}, rest.strip())
        instruction = Instruction(keyword, rest, number, flags)
        if keyword == "FROM":
            words = rest.split()
            if len(words) == 3 and words[1].upper() == "AS":
                stages.append(Stage(words[0], words[2], len(stages)))
            elif len(words) == 1:
                stages.append(Stage(words[0], None, len(stages)))
            else:
                raise DockerfileError(f"line {number}: expected FROM IMAGE [AS NAME], got {line!r}")
        elif not stages:
            if keyword != "ARG":
                raise DockerfileError(f"line {number}: only ARG may come before the first FROM")
            global_args.append(instruction)
        else:
            stages[-1].instructions.append(instruction)
    if not stages:
        raise DockerfileError("no FROM instruction")
    return Dockerfile(global_args, stages)


def load(path: Path) -> Dockerfile:
    return parse(path.read_text())


_VARIABLE = re.compile(
    r"\\\$|\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def substitute(text: str, variables: dict[str, str]) -> str:
    """Docker's $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative} (used by ENV, LABEL, WORKDIR, ...)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group("braced") or match.group("bare")
        value = variables.get(name, "")
        if match.group("op") == "-":
            return value or substitute(match.group("word"), variables)
        if match.group("op") == "+":
            return substitute(match.group("word"), variables) if value else ""
        return value

    return _VARIABLE.sub(replace, text)


def key_values(text: str, variables: dict[str, str]) -> list[tuple[str, str]]:
    """ENV/LABEL arguments: `K=V K2="V 2"` pairs (or the legacy `K V` form), values substituted."""
    words = shlex.split(text, posix=True)
    if words and "=" not in words[0]:
        return [(words[0], substitute(text.split(None, 1)[1] if len(words) > 1 else "", variables))]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise DockerfileError(f"expected KEY=VALUE, got {word!r}")
        pairs.append((key, substitute(value, variables)))
    return pairs


def arg(text: str) -> tuple[str, str | None]:
    name, sep, default = text.partition("=")
    return name.strip(), (default.strip().strip('"') if sep else None)


def command(text: str) -> list[str] | str:
    """Exec form (a JSON array) as a list; shell form as the string."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise DockerfileError(f"not a JSON array: {text!r}") from error
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DockerfileError(f"expected a JSON array of strings: {text!r}")
        return value
    return text


def exposed_ports(text: str, variables: dict[str, str]) -> list[str]:
    ports = []
    for word in substitute(text, variables).split():
        port, _, protocol = word.partition("/")
        ports.append(f"{int(port)}/{protocol or 'tcp'}")
    return ports
