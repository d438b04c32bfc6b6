"""Every published benchmark section comes from the code as it is: it names the commit it measured, that code
had no uncommitted changes, and its benchmark module has not changed since (docs/benchmarks.md)."""

from __future__ import annotations

import re
import subprocess

import pytest

from bench.common import RESULTS, ROOT, STAMP

SECTION = re.compile(r"<!-- bench:(?P<name>[\w-]+) -->(?P<body>.*?)<!-- /bench:(?P=name) -->", re.S)


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def sections() -> dict[str, str]:
    return {m["name"]: m["body"] for m in SECTION.finditer(RESULTS.read_text())}


def test_there_are_sections_and_each_is_stamped_with_its_benchmark_and_a_clean_commit() -> None:
    found = sections()
    assert found, f"no benchmark sections in {RESULTS}"
    for name, body in found.items():
        stamp = STAMP.search(body)
        assert stamp, f"section {name}: no '_Measured ... by `make bench` (bench/x.py) at commit ..._' line"
        assert (ROOT / stamp["source"]).is_file(), f"section {name}: {stamp['source']} does not exist"
        assert re.fullmatch(r"[0-9a-f]{7,40}", stamp["commit"]), (
            f"section {name} was measured on uncommitted code ({stamp['commit']}): commit, then run `make bench`"
        )


@pytest.mark.parametrize("name", sorted(sections()))
def test_the_benchmark_has_not_changed_since_the_commit_it_measured(name: str) -> None:
    stamp = STAMP.search(sections()[name])
    if stamp is None or not re.fullmatch(r"[0-9a-f]{7,40}", stamp["commit"]):
        pytest.fail(f"section {name}: no clean commit recorded (see the test above)")
    measured = stamp["commit"]
    if git("cat-file", "-e", f"{measured}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {measured} is not in this clone's history (shallow?): cannot compare")
    changed = git("log", "-1", "--format=%h", "--", stamp["source"]).stdout.strip()
    assert changed, f"{stamp['source']} has no history"
    newer = git("merge-base", "--is-ancestor", changed, measured).returncode != 0
    assert not newer, (
        f"section {name} is older than its benchmark: {stamp['source']} changed in {changed}, after {measured}; "
        "run it again"
    )
