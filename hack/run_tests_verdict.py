#!/usr/bin/env python3
"""Whether a `hack/run-tests.sh` session passed: pytest's exit code, corrected by what the session did.

pytest answers 5 when it collected nothing, and 0 when every selected test was skipped; neither means the
e2e tests ran. A pure decision over the report `tests/support/session_report.py` writes, plus a CLI:
`run_tests_verdict.py RC REPORT` prints the reason and exits with the session's real code. Stdlib only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

NO_TESTS_COLLECTED = 5  # pytest.ExitCode.NO_TESTS_COLLECTED
FAILED = 1
E2E_DIR = Path(__file__).resolve().parents[1] / "tests" / "e2e"


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the session report says (see tests/support/session_report.py)."""

    paths: tuple[Path, ...]  # the selected paths, or the configured testpaths when none was given
    e2e_selected: int
    e2e_ran: int
    cluster_up: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    code: int
    message: str | None = None


def covers_e2e(paths: tuple[Path, ...], e2e_dir: Path = E2E_DIR) -> bool:
    """Whether the selection reaches the e2e tests: a path inside tests/e2e, or one that contains it."""
    return any(path == e2e_dir or e2e_dir in path.parents or path in e2e_dir.parents for path in paths)


def decide(exit_code: int, facts: SessionFacts | None, e2e_dir: Path = E2E_DIR) -> Verdict:
    """The session's exit code and, when it differs from pytest's or needs saying, why."""
    if facts is None:
        if exit_code == NO_TESTS_COLLECTED:
            return Verdict(FAILED, "pytest collected no tests and wrote no session report; failing")
        return Verdict(exit_code)
    if facts.cluster_up and facts.e2e_ran == 0:
        return Verdict(
            FAILED if exit_code in (0, NO_TESTS_COLLECTED) else exit_code,
            f"the local cluster came up but no e2e test ran ({facts.e2e_selected} selected, none ran "
            "to a result: all skipped or deselected); check PYTEST_ARGS (-k/-m/paths)",
        )
    if exit_code != NO_TESTS_COLLECTED:
        return Verdict(exit_code)
    if covers_e2e(facts.paths, e2e_dir):
        return Verdict(
            FAILED,
            "pytest collected no tests from a selection that includes the e2e tests "
            f"({', '.join(map(str, facts.paths))}): a -k/-m expression or path that matches nothing by "
            "mistake? failing",
        )
    return Verdict(
        0,
        f"pytest collected no tests under {', '.join(map(str, facts.paths))} (no e2e tests there); "
        "treating that as success",
    )


def read_facts(report: Path) -> SessionFacts | None:
    """The report's facts; None when pytest never wrote it (crashed, or stopped before the session end)."""
    try:
        document = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    return SessionFacts(
        paths=tuple(Path(path) for path in document.get("paths", [])),
        e2e_selected=int(document.get("e2e_selected", 0)),
        e2e_ran=int(document.get("e2e_ran", 0)),
        cluster_up=bool(document.get("cluster_up", False)),
    )


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: run_tests_verdict.py PYTEST_EXIT_CODE REPORT_JSON", file=sys.stderr)
        return 2
    verdict = decide(int(argv[1]), read_facts(Path(argv[2])))
    if verdict.message:
        print(verdict.message)
    return verdict.code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
