"""The build context as `docker build` sees it: files filtered by .dockerignore, and their content hash.

.dockerignore follows Docker's rules (moby/patternmatcher): patterns in order, the last one that matches wins,
`!` re-includes, a pattern matching a directory matches everything under it, `**` spans directories.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i)
            if end == -1:
                out += re.escape(c)
            else:
                out += pattern[i : end + 1]
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    exclude: bool


def parse_ignore(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip()
        pattern = os.path.normpath(pattern).lstrip("/")
        if pattern == ".":
            continue
        rules.append(Rule(_pattern_regex(pattern), exclude))
    return rules


def excluded(rules: list[Rule], path: str) -> bool:
    """Whether `path` (relative, '/'-separated) is left out of the context."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for rule in rules:
        if any(rule.regex.match(prefix) for prefix in prefixes):
            result = rule.exclude
    return result


@dataclass(frozen=True)
class BuildContext:
    root: Path

    @cached_property
    def rules(self) -> list[Rule]:
        ignore = self.root / ".dockerignore"
        return parse_ignore(ignore.read_text()) if ignore.exists() else []

    def files_under(self, source: str) -> list[str]:
        """Context files (relative paths) a COPY source names: the file itself or a directory's contents."""
        base = self.root / source.rstrip("/")
        if not base.exists():
            raise FileNotFoundError(f"COPY source {source!r} is not in the build context {self.root}")
        rel = base.relative_to(self.root).as_posix()
        if base.is_file():
            return [] if excluded(self.rules, rel) else [rel]
        found = []
        for directory, dirs, names in os.walk(base):
            dirs.sort()
            for name in sorted(names):
                path = (Path(directory) / name).relative_to(self.root).as_posix()
                if not excluded(self.rules, path):
                    found.append(path)
        return found

    def digest(self, sources: list[str]) -> str:
        """Content hash of what COPY would take from these sources (names, modes and bytes)."""
        sha = hashlib.sha256()
        for source in sources:
            for path in self.files_under(source):
                full = self.root / path
                sha.update(f"{path}\0{full.stat().st_mode & 0o777:o}\0".encode())
                sha.update(hashlib.sha256(full.read_bytes()).digest())
        return sha.hexdigest()
