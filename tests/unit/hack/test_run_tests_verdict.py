"""hack/run-tests.sh's verdict: pytest's "no tests collected" passes only for a selection without e2e tests,
and a session whose cluster came up but ran no e2e test fails."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from run_tests_verdict import FAILED, SessionFacts, covers_e2e, decide, main, read_facts

ROOT = Path(__file__).resolve().parents[3]
TESTS, E2E, UNIT = ROOT / "tests", ROOT / "tests" / "e2e", ROOT / "tests" / "unit"


def facts(*paths: Path, selected: int = 0, ran: int = 0, cluster_up: bool = False) -> SessionFacts:
    return SessionFacts(paths=paths, e2e_selected=selected, e2e_ran=ran, cluster_up=cluster_up)


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        ((TESTS,), True),  # no path given: the configured testpaths
        ((ROOT,), True),
        ((E2E,), True),
        ((E2E / "operator" / "test_x.py",), True),
        ((UNIT / "hack",), False),
        ((UNIT, ROOT / "tests" / "integration"), False),
        ((UNIT, E2E / "chart"), True),
        ((ROOT / "tests" / "e2e_other",), False),  # a sibling whose name only starts the same
    ],
)
def test_which_selections_cover_the_e2e_tests(paths: tuple[Path, ...], expected: bool) -> None:
    assert covers_e2e(paths, E2E) is expected


def test_nothing_collected_from_a_unit_only_selection_passes() -> None:
    verdict = decide(5, facts(UNIT / "hack"), E2E)
    assert verdict.code == 0
    assert verdict.message is not None and "treating that as success" in verdict.message


@pytest.mark.parametrize("paths", [(TESTS,), (E2E,), (UNIT, E2E / "chart")])
def test_nothing_collected_from_a_selection_with_e2e_tests_fails(paths: tuple[Path, ...]) -> None:
    verdict = decide(5, facts(*paths), E2E)
    assert verdict.code == FAILED
    assert verdict.message is not None and "includes the e2e tests" in verdict.message


@pytest.mark.parametrize("exit_code", [0, 5])
def test_a_cluster_that_came_up_for_no_e2e_test_fails(exit_code: int) -> None:
    verdict = decide(exit_code, facts(TESTS, selected=12, ran=0, cluster_up=True), E2E)
    assert verdict.code == FAILED
    assert (
        verdict.message is not None and "cluster came up but no e2e test ran (12 selected" in verdict.message
    )


def test_a_failing_session_keeps_its_code() -> None:
    assert decide(1, facts(TESTS, selected=3, ran=0, cluster_up=True), E2E).code == 1
    assert decide(2, facts(TESTS), E2E).code == 2  # interrupted


def test_ordinary_sessions_keep_pytests_answer() -> None:
    assert decide(0, facts(TESTS, selected=40, ran=38, cluster_up=True), E2E).code == 0
    assert decide(0, facts(UNIT), E2E).code == 0  # unit tests only: the cluster never started
    assert decide(1, facts(UNIT), E2E).code == 1


def test_a_missing_report_never_turns_nothing_collected_into_success(tmp_path: Path) -> None:
    assert read_facts(tmp_path / "absent.json") is None
    assert decide(5, None).code == FAILED
    assert decide(0, None).code == 0 and decide(3, None).code == 3


def test_the_cli_reads_the_report_the_plugin_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {
                "exitstatus": 5,
                "paths": [str(E2E)],
                "collected": 0,
                "e2e_selected": 0,
                "e2e_ran": 0,
                "cluster_up": False,
            }
        )
    )
    assert main(["run_tests_verdict.py", "5", str(report)]) == FAILED
    assert "includes the e2e tests" in capsys.readouterr().out


def run_tests_sh(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "TRADINGBOT_TEST_REPORT"}
    return subprocess.run(
        [str(ROOT / "hack" / "run-tests.sh"), "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_run_tests_sh_passes_an_empty_unit_only_selection() -> None:
    result = run_tests_sh("tests/unit/hack/test_run_tests_verdict.py", "-k", "no_such_test_anywhere")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "treating that as success" in result.stdout


def test_run_tests_sh_fails_an_e2e_selection_that_matches_nothing() -> None:
    # -k matches no test in the e2e file: collected, all deselected, the cluster never needed.
    result = run_tests_sh("tests/e2e/test_cluster_smoke.py", "-k", "no_such_test_anywhere")
    assert result.returncode == FAILED, result.stdout + result.stderr
    assert "includes the e2e tests" in result.stdout


PLUGIN_CONFTEST = """
import pytest
from tests.support.session_report import record_cluster_up, register_session_report

def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end to end")
    register_session_report(config)

@pytest.fixture(scope="session")
def cluster(pytestconfig):
    record_cluster_up(pytestconfig)
    yield "up"
"""


def test_the_session_report_counts_a_cluster_that_came_up_for_skipped_e2e_tests(tmp_path: Path) -> None:
    """The plugin's report, from a real pytest session: the cluster fixture ran, the e2e test skipped."""
    (tmp_path / "conftest.py").write_text(PLUGIN_CONFTEST)
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.e2e\n"
        "def test_needs_cluster(cluster):\n"
        "    pytest.skip('not today')\n\n"
        "def test_unit():\n"
        "    assert True\n"
    )
    report = tmp_path / "report.json"
    env = {**os.environ, "TRADINGBOT_TEST_REPORT": str(report), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    session = read_facts(report)
    assert session == SessionFacts(paths=(tmp_path.resolve(),), e2e_selected=1, e2e_ran=0, cluster_up=True)
    assert decide(0, session).code == FAILED
