"""A pytest plugin that writes what a session did for `hack/run-tests.sh` to judge: the paths selected,
how many e2e tests were selected and actually ran, and whether the local cluster came up.

Written only when `TRADINGBOT_TEST_REPORT` names a file (run-tests.sh sets it); `hack/run_tests_verdict.py`
reads it, so an e2e selection that matched nothing by mistake fails `make test` instead of passing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPORT_ENV = "TRADINGBOT_TEST_REPORT"
_PLUGIN_NAME = "tradingbot-session-report"


class SessionReport:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cluster_up = False
        self.e2e_selected = 0
        self.e2e_ran = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.e2e_selected = sum(1 for item in session.items if item.get_closest_marker("e2e"))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # An e2e test "ran" when its body ran to a result (an xfail counts); a skip, in setup or in the
        # body, does not, nor does a setup error.
        ran = report.outcome != "skipped" or hasattr(report, "wasxfail")
        if report.when == "call" and ran and "e2e" in report.keywords:
            self.e2e_ran += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        target = os.environ.get(REPORT_ENV)
        if not target:
            return
        invoked_from = Path(self.config.invocation_params.dir)
        report = {
            "exitstatus": int(exitstatus),
            "paths": [str((invoked_from / arg.split("::", 1)[0]).resolve()) for arg in self.config.args],
            "collected": session.testscollected,
            "e2e_selected": self.e2e_selected,
            "e2e_ran": self.e2e_ran,
            "cluster_up": self.cluster_up,
        }
        Path(target).write_text(json.dumps(report, indent=2) + "\n")


def register_session_report(config: pytest.Config) -> None:
    """Install the plugin (from the root conftest's `pytest_configure`)."""
    if config.pluginmanager.get_plugin(_PLUGIN_NAME) is None:
        config.pluginmanager.register(SessionReport(config), _PLUGIN_NAME)


def record_cluster_up(config: pytest.Config) -> None:
    """Called by the session `cluster` fixture once the control plane is up."""
    plugin = config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if isinstance(plugin, SessionReport):
        plugin.cluster_up = True
