"""A mounted ConfigMap directory, written the way the kubelet's atomic writer does it.

`..<timestamp>/` holds the files, `..data` links to it, each key links to `..data/<key>`; an update
writes a new timestamped directory and renames a fresh `..data_tmp` link over `..data` in one step.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

_COUNTER = itertools.count()


class KubeletConfigMapDir:
    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        current = self._write_version(files)
        (root / "..data").symlink_to(current.name)
        for key in files:
            (root / key).symlink_to(f"..data/{key}")

    def path(self, key: str) -> Path:
        return self.root / key

    def update(self, files: dict[str, str]) -> None:
        """Swap every key at once, as the kubelet does on a ConfigMap change."""
        old = (self.root / "..data").resolve()
        new = self._write_version(files)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(new.name)
        tmp.rename(self.root / "..data")  # atomic replace of the symlink (rename(2))
        shutil.rmtree(old)

    def _write_version(self, files: dict[str, str]) -> Path:
        directory = self.root / f"..2026_05_01_12_00_00.{next(_COUNTER):09d}"
        directory.mkdir()
        for key, text in files.items():
            (directory / key).write_text(text)
        return directory
