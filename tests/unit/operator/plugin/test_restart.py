"""Restart requests: validated against the status, merged with a pending one, and seen through to the end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.operator.plugin.samples import bot, with_rows
from tradingbot_operator.api.status import Recovery
from tradingbot_operator.plugin.errors import ExitCode, PluginError
from tradingbot_operator.plugin.reading import read_bot
from tradingbot_operator.plugin.restart import (
    annotation_value,
    is_running,
    plan_request,
    restart_progress,
    split_request,
    validate_targets,
    wait_for_restart,
)

EARLIER = {"action": "Restart", "time": "2025-01-01T11:00:00Z", "reason": "NotReady: 0/1 pods ready"}
MANUAL = {"action": "Restart", "time": "2025-01-01T12:00:01Z", "reason": "ManualRequest"}


def test_split_request() -> None:
    assert split_request(" auth, gateway,,auth ") == ["auth", "gateway"]
    assert split_request(None) == []


def test_all_means_every_component_in_the_status() -> None:
    view = read_bot(bot())
    assert validate_targets(view, "all") == view.component_names
    assert validate_targets(view, "trader,auth") == ["trader", "auth"]


def test_an_unknown_component_is_named_with_the_bot_namespace_and_choices() -> None:
    with pytest.raises(PluginError) as caught:
        validate_targets(read_bot(bot()), "auth,nope")
    assert caught.value.code is ExitCode.NOT_FOUND
    assert caught.value.message.startswith(
        "no component nope in TradingBot 'kraken-main' in namespace 'bots'"
    )
    assert "components: storage, exchange-sim, auth" in caught.value.message


def test_a_bot_without_components_cannot_be_restarted_yet() -> None:
    with pytest.raises(PluginError, match="has no components in its status yet"):
        validate_targets(read_bot(bot(status=None)), "all")
    with pytest.raises(PluginError) as caught:
        validate_targets(read_bot(bot()), " , ")
    assert caught.value.code is ExitCode.USAGE


def test_a_pending_request_is_kept() -> None:
    assert annotation_value(None, "auth") == "auth"
    assert annotation_value("gateway", "auth") == "gateway,auth"
    assert annotation_value("auth", "auth") == "auth"
    assert annotation_value("gateway", "all") == "all"


def test_only_components_with_replicas_are_expected_to_restart() -> None:
    view = read_bot(with_rows(bot(), trader={"ready": "0/0"}, auth={"lastRecovery": EARLIER}))
    assert is_running(view.component("auth")) and not is_running(view.component("trader"))
    assert not is_running(None)
    plan = plan_request(view, "all")
    assert plan.annotation == "all" and "trader" in plan.skipped and "trader" not in plan.expected
    assert plan.before["auth"] == Recovery.model_validate(EARLIER)
    assert plan_request(view, "auth,gateway").annotation == "auth,gateway"
    with pytest.raises(PluginError, match="nothing to restart: trader"):
        plan_request(view, "trader")


def test_progress_needs_the_annotation_cleared_and_a_new_restart_per_component() -> None:
    before = {"auth": Recovery.model_validate(EARLIER), "gateway": None}
    pending = read_bot(bot(annotations={"tradingbot.dev/restart": "auth,gateway"}))
    state = restart_progress(pending, ["auth", "gateway"], before)
    assert not state.cleared and state.pending == ("auth", "gateway") and not state.done

    half = read_bot(with_rows(bot(), auth={"lastRecovery": MANUAL}, gateway={"lastRecovery": EARLIER}))
    state = restart_progress(
        half, ["auth", "gateway"], {**before, "gateway": Recovery.model_validate(EARLIER)}
    )
    assert state.restarted == ("auth",) and state.pending == ("gateway",) and state.stuck

    done = read_bot(with_rows(bot(), auth={"lastRecovery": MANUAL}, gateway={"lastRecovery": MANUAL}))
    state = restart_progress(done, ["auth", "gateway"], before)
    assert state.done and state.describe() == "request carried out; restarted: auth, gateway"

    scaled = read_bot(with_rows(bot(), gateway={"lastRecovery": {**MANUAL, "action": "Scale"}}))
    assert restart_progress(scaled, ["gateway"], before).pending == ("gateway",)


class FakeSession:
    """Returns the given bot objects in turn, the last one forever."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = list(objects)

    def get_bot(self, name: str) -> dict[str, Any]:
        return self.objects.pop(0) if len(self.objects) > 1 else self.objects[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def wait(session: FakeSession, timeout: float = 10) -> tuple[list[str], Any]:
    said: list[str] = []
    clock = FakeClock()
    plan = plan_request(read_bot(bot()), "auth")
    state = wait_for_restart(
        session,  # type: ignore[arg-type]
        plan,
        timeout,
        progress=said.append,
        clock=clock,
        sleep=clock.sleep,
    )
    return said, state


def test_wait_reports_progress_until_the_operator_has_restarted() -> None:
    requested = bot(annotations={"tradingbot.dev/restart": "auth"})
    restarted = with_rows(bot(), auth={"lastRecovery": MANUAL})
    said, state = wait(FakeSession(requested, requested, requested, restarted))
    assert state.done and state.restarted == ("auth",)
    assert said == [
        "[  0.0s] request pending; waiting for: auth",
        "[  1.5s] request carried out; restarted: auth",
    ]


def test_wait_gives_up_at_the_deadline_with_what_is_missing() -> None:
    requested = bot(annotations={"tradingbot.dev/restart": "auth"})
    with pytest.raises(PluginError) as caught:
        wait(FakeSession(requested), timeout=7)
    assert caught.value.code is ExitCode.TIMEOUT
    assert "timed out after 7s" in caught.value.message and "auth" in caught.value.message


def test_wait_fails_fast_when_the_operator_cleared_the_request_without_a_restart() -> None:
    with pytest.raises(PluginError, match="shows no new restart"):
        wait(FakeSession(bot()))
