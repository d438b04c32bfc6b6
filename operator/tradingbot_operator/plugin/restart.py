"""`kubectl tradingbot restart`: ask the operator to restart components, and optionally wait until it has.

The plugin never touches Deployments or Pods. It merge-patches the annotation `tradingbot.dev/restart`
(`<component>[,<component>...]|all`) on the TradingBot; the operator restarts the components through their
pod templates, records `lastRecovery` in the status and clears the annotation. Deciding what to request and
whether a restart has happened are pure functions; `request_restart` and `wait_for_restart` do the I/O.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tradingbot_operator.api import constants as c
from tradingbot_operator.api.status import ComponentStatus, Recovery
from tradingbot_operator.plugin.errors import ExitCode, PluginError
from tradingbot_operator.plugin.reading import BotView, read_bot
from tradingbot_operator.plugin.session import Session

ALL = "all"
HEARTBEAT_SECONDS = 5.0


def split_request(request: str | None) -> list[str]:
    """ "auth, gateway" -> ["auth", "gateway"] (order kept, duplicates dropped)."""
    return list(dict.fromkeys(part.strip() for part in (request or "").split(",") if part.strip()))


def validate_targets(bot: BotView, request: str) -> list[str]:
    """The components a request names, checked against the bot's status; "all" means every component."""
    names = bot.component_names
    where = f"TradingBot {bot.name!r} in namespace {bot.namespace!r}"
    if not names:
        raise PluginError(
            f"{where} has no components in its status yet; the operator has not reconciled it",
            ExitCode.NOT_FOUND,
        )
    wanted = split_request(request)
    if not wanted:
        raise PluginError("name a component, or 'all'", ExitCode.USAGE)
    if ALL in wanted:
        return names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise PluginError(
            f"no component {', '.join(unknown)} in {where}; components: {', '.join(names)}, or 'all'",
            ExitCode.NOT_FOUND,
        )
    return wanted


def annotation_value(pending: str | None, request: str) -> str:
    """The annotation to write: a request still pending is kept, so neither restart is lost."""
    parts = split_request(pending) + split_request(request)
    return ALL if ALL in parts else ",".join(dict.fromkeys(parts))


def is_running(row: ComponentStatus | None) -> bool:
    """The operator restarts only components that have replicas; status.ready is "<ready>/<desired>"."""
    if row is None:
        return False
    _, _, desired = row.ready.partition("/")
    return desired.strip().isdigit() and int(desired) > 0


@dataclass(frozen=True)
class RestartProgress:
    """How far the operator has got with a request."""

    cleared: bool  # the operator removed the annotation: it has acted on the request
    restarted: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def done(self) -> bool:
        return self.cleared and not self.pending

    @property
    def stuck(self) -> bool:
        """Cleared, yet some component shows no new restart: the operator will not restart it."""
        return self.cleared and bool(self.pending)

    def describe(self) -> str:
        request = "request carried out" if self.cleared else "request pending"
        restarted = f"restarted: {', '.join(self.restarted)}" if self.restarted else ""
        pending = f"waiting for: {', '.join(self.pending)}" if self.pending else ""
        return "; ".join(part for part in (request, restarted, pending) if part)


def restart_progress(
    bot: BotView, expected: Sequence[str], before: Mapping[str, Recovery | None]
) -> RestartProgress:
    """A component has restarted when its lastRecovery is a Restart different from the one before the request."""
    restarted, pending = [], []
    for name in expected:
        row = bot.component(name)
        after = row.last_recovery if row else None
        done = after is not None and after.action == "Restart" and after != before.get(name)
        (restarted if done else pending).append(name)
    return RestartProgress(bot.restart_request is None, tuple(restarted), tuple(pending))


@dataclass(frozen=True)
class RestartRequest:
    """A request as written: what the annotation says, which components must show a restart, and before what."""

    bot: str
    annotation: str
    expected: tuple[str, ...]
    skipped: tuple[str, ...]  # named, but with no replicas: the operator leaves them alone
    before: Mapping[str, Recovery | None]


def plan_request(bot: BotView, request: str) -> RestartRequest:
    targets = validate_targets(bot, request)
    expected = tuple(t for t in targets if is_running(bot.component(t)))
    skipped = tuple(t for t in targets if t not in expected)
    if not expected:
        raise PluginError(
            f"nothing to restart: {', '.join(skipped)} of TradingBot {bot.name!r} "
            f"(namespace {bot.namespace!r}) has no replicas",
            ExitCode.API_ERROR,
        )
    wanted = ALL if ALL in split_request(request) else ",".join(targets)
    row_of = {name: bot.component(name) for name in expected}
    return RestartRequest(
        bot=bot.name,
        annotation=annotation_value(bot.restart_request, wanted),
        expected=expected,
        skipped=skipped,
        before={name: row.last_recovery if row else None for name, row in row_of.items()},
    )


def request_restart(session: Session, bot: BotView, plan: RestartRequest) -> None:
    # resourceVersion makes the merge patch conditional: a concurrent change fails with 409 instead of
    # silently replacing a request someone else just wrote.
    patch = {
        "metadata": {
            "resourceVersion": bot.resource_version,
            "annotations": {c.Annotations.RESTART_REQUEST: plan.annotation},
        }
    }
    session.patch_bot(bot.name, patch)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def wait_for_restart(
    session: Session,
    plan: RestartRequest,
    timeout: float,
    *,
    interval: float = 0.5,
    progress: Callable[[str], None] = _stderr,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RestartProgress:
    """Poll the bot until the operator has restarted every expected component, or raise at the deadline."""
    started = clock()
    deadline, last_said, last_time = started + timeout, "", started
    while True:
        state = restart_progress(read_bot(session.get_bot(plan.bot)), plan.expected, plan.before)
        said = state.describe()
        now = clock()
        if said != last_said or now - last_time >= HEARTBEAT_SECONDS:
            progress(f"[{now - started:5.1f}s] {said}")
            last_said, last_time = said, now
        if state.done:
            return state
        if state.stuck:
            raise PluginError(
                f"the operator cleared the restart request of {plan.bot!r} but "
                f"{', '.join(state.pending)} shows no new restart in status.components[].lastRecovery",
                ExitCode.API_ERROR,
            )
        if now >= deadline:
            raise PluginError(
                f"timed out after {timeout:g}s waiting for the operator to restart "
                f"{', '.join(state.pending) or plan.annotation} of {plan.bot!r} ({said}); "
                "is the operator running?",
                ExitCode.TIMEOUT,
            )
        sleep(min(interval, max(deadline - now, 0.0)))
