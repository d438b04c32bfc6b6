"""What `status`, `list` and `health` print, from a bot as read."""

from __future__ import annotations

from tests.unit.operator.plugin.samples import NOW, bot, with_rows
from tradingbot_operator.api.status import Health
from tradingbot_operator.plugin.errors import ExitCode
from tradingbot_operator.plugin.reading import read_bot
from tradingbot_operator.plugin.views import (
    COMPONENT_HEADERS,
    health_exit_code,
    last_recovery,
    render_health,
    render_list,
    render_status,
    summary_line,
)


def unhealthy_bot() -> dict:
    raw = with_rows(
        bot(),
        auth={"health": "Unhealthy", "reason": "NotReady", "message": "0/1 pods ready", "ready": "0/1"},
        gateway={
            "health": "Degraded",
            "reason": "DependencyUnhealthy",
            "message": "auth is NotReady",
            "rootCause": "auth",
        },
        trader={
            "safeMode": True,
            "ready": "0/0",
            "lastRecovery": {
                "action": "Scale",
                "time": "2025-01-01T11:58:00Z",
                "reason": "scaled to 0: auth Unhealthy",
            },
        },
    )
    raw["status"].update(phase="Degraded", health="Unhealthy", ready="6/8")
    raw["status"]["alerts"] = [
        {
            "time": f"2025-01-01T11:5{i}:00Z",
            "severity": "critical",
            "component": "auth",
            "reason": f"Reason{i}",
            "message": "m",
        }
        for i in range(9, 2, -1)
    ]
    return raw


def test_summary_line() -> None:
    assert summary_line(read_bot(bot())) == "kraken-main: Running, Healthy, 8/8 ready, startup Complete"
    assert "no status yet" in summary_line(read_bot(bot(status=None)))


def test_status_opens_with_the_summary_then_sections() -> None:
    text = render_status(read_bot(bot()), NOW)
    lines = text.splitlines()
    assert lines[0] == "kraken-main: Running, Healthy, 8/8 ready, startup Complete"
    for section in ("Conditions:", "Components:", "Config:", "Recent alerts (newest first, 0 of 0):"):
        assert section in lines
    header = lines[lines.index("Components:") + 1]
    assert header.split() == list(COMPONENT_HEADERS)
    assert "Ready   True     AllReady   every component is Ready   5m" in text
    assert "generation 1, hash a6ce60908a9ff6ca" in text
    assert "Age:         10m" in text


def test_status_rows_show_root_cause_safe_mode_recovery_and_problems() -> None:
    text = render_status(read_bot(unhealthy_bot()), NOW)
    rows = {
        line.split()[0]: line
        for line in text.splitlines()
        if line.startswith(("auth ", "gateway ", "trader "))
    }
    assert rows["gateway"].split()[:7] == [
        "gateway",
        "Network",
        "Ready",
        "1/1",
        "Degraded",
        "DependencyUnhealthy",
        "auth",
    ]
    assert "Ready (safe mode)" in rows["trader"]
    assert rows["trader"].endswith("Scale 2m ago: scaled to 0: auth Unhealthy")
    assert "  auth: NotReady: 0/1 pods ready" in text
    assert "Recent alerts (newest first, 5 of 7):" in text
    assert "Reason9" in text and "Reason4" not in text


def test_status_of_a_bot_the_operator_has_not_seen() -> None:
    text = render_status(read_bot(bot(status=None)), NOW)
    assert "no status yet" in text and "Components:" not in text


def test_status_says_when_the_operator_lags_a_restart_is_pending_or_the_bot_is_deleting() -> None:
    raw = bot(generation=3, annotations={"tradingbot.dev/restart": "auth"})
    raw["metadata"]["deletionTimestamp"] = "2025-01-01T11:59:00Z"
    text = render_status(read_bot(raw), NOW)
    assert "Generation:  3 (observed 1)" in text and "not acted on generation 3" in text
    assert "requested for auth" in text
    assert "Deleting:    requested 60s ago" in text


def test_last_recovery_is_clipped() -> None:
    from tradingbot_operator.api.status import Recovery

    recovery = Recovery(action="Restart", time="2025-01-01T11:59:00Z", reason="NotReady: " + "x" * 100)
    assert last_recovery(recovery, NOW).startswith("Restart 60s ago: NotReady: x")
    assert len(last_recovery(recovery, NOW)) == 48
    assert last_recovery(None, NOW) == "-"


def test_list_sorted_with_namespace_column_for_all_namespaces() -> None:
    bots = [read_bot(bot("b", "two")), read_bot(bot("a", "one", status=None))]
    assert render_list(bots, NOW, all_namespaces=True).splitlines() == [
        "NAMESPACE   NAME   READY   PHASE     HEALTH    STARTUP    AGE",
        "one         a      -       -         -         -          10m",
        "two         b      8/8     Running   Healthy   Complete   10m",
    ]
    assert render_list(bots[:1], NOW, all_namespaces=False).splitlines()[0].split() == [
        "NAME",
        "READY",
        "PHASE",
        "HEALTH",
        "STARTUP",
        "AGE",
    ]


def test_health_exit_codes() -> None:
    assert health_exit_code(Health.HEALTHY) is ExitCode.OK
    assert health_exit_code(Health.DEGRADED) is ExitCode.DEGRADED
    assert health_exit_code(Health.UNKNOWN) is ExitCode.DEGRADED
    assert health_exit_code(Health.UNHEALTHY) is ExitCode.UNHEALTHY


def test_health_names_the_root_cause_and_every_component() -> None:
    text = render_health(read_bot(unhealthy_bot()))
    lines = text.splitlines()
    assert lines[0] == "kraken-main: Unhealthy (2 of 8 components not healthy)"
    assert lines[1] == "root cause: auth"
    assert len(lines) == 4 + 8  # summary, root cause, blank, header, then a row per component
    assert "gateway           Degraded    DependencyUnhealthy   auth" in text
    assert render_health(read_bot(bot())).startswith("kraken-main: Healthy (all components healthy)")
    assert "Unknown" in render_health(read_bot(bot(status=None)))
