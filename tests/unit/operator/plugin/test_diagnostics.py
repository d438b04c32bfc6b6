"""The report's pure parts: which Events belong to a bot, redacted lists, and the ZIP layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.unit.operator.plugin.samples import NOW
from tradingbot_operator.plugin.diagnostics import Report, as_list, default_path, related_events, write_zip
from tradingbot_operator.plugin.errors import ExitCode, PluginError
from tradingbot_operator.plugin.redaction import REDACTED


def event(kind: str, name: str, uid: str = "", when: str = "2025-01-01T11:00:00Z") -> dict:
    return {"involvedObject": {"kind": kind, "name": name, "uid": uid}, "lastTimestamp": when, "reason": "R"}


def test_events_of_the_bot_its_children_and_its_gone_pods_but_not_of_other_bots() -> None:
    events = [
        event("TradingBot", "kraken", when="2025-01-01T11:05:00Z"),
        event("Deployment", "kraken-auth", uid="u1", when="2025-01-01T11:01:00Z"),
        event("Pod", "kraken-auth-7c9f-old", when="2025-01-01T11:03:00Z"),
        event("Pod", "kraken-main-auth-1"),  # belongs to the bot "kraken-main"
        event("TradingBot", "kraken-main"),
        event("Pod", "other-auth-1"),
        event("Node", "kraken-node"),
    ]
    kept = related_events(events, "kraken", {"u1"}, ["kraken", "kraken-main", "other"])
    assert [e["involvedObject"]["name"] for e in kept] == ["kraken-auth", "kraken-auth-7c9f-old", "kraken"]


def test_as_list_restores_kinds_and_redacts() -> None:
    items = [
        {
            "metadata": {"name": "p", "managedFields": []},
            "spec": {"containers": [{"env": [{"name": "TOKEN", "value": "x"}]}]},
        }
    ]
    listed = as_list("Pod", items)
    assert listed["kind"] == "List"
    assert listed["items"][0]["kind"] == "Pod"
    assert listed["items"][0]["spec"]["containers"][0]["env"][0]["value"] == REDACTED
    assert "managedFields" not in listed["items"][0]["metadata"]


def test_a_kind_that_cannot_be_listed_is_noted_but_an_unreachable_server_is_fatal() -> None:
    report = Report()

    def forbidden() -> dict:
        raise PluginError("permission denied to list pods", ExitCode.FORBIDDEN)

    assert report.try_list("pods", forbidden) == []
    assert report.problems == ["pods: permission denied to list pods"]

    def unreachable() -> dict:
        raise PluginError("cannot reach", ExitCode.UNREACHABLE)

    try:
        report.try_list("pods", unreachable)
    except PluginError as error:
        assert error.code is ExitCode.UNREACHABLE
    else:
        raise AssertionError("an unreachable server must stop the report")


def test_zip_keeps_everything_under_one_folder(tmp_path: Path) -> None:
    assert default_path("bots", "kraken", NOW) == Path("tradingbot-bots-kraken-20250101T120000Z.zip")
    report = Report()
    report.add_yaml("tradingbot.yaml", {"kind": "TradingBot"})
    report.files["operator/status.txt"] = "ok\n"
    path = write_zip(report, tmp_path / "out" / "r.zip", folder="r")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["r/operator/status.txt", "r/tradingbot.yaml"]
        assert archive.read("r/tradingbot.yaml") == b"kind: TradingBot\n"


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    try:
        write_zip(Report(), blocker / "r.zip", folder="r")
    except PluginError as error:
        assert error.code is ExitCode.API_ERROR and str(blocker / "r.zip") in error.message
    else:
        raise AssertionError("expected a PluginError")
