"""What `tradingbot run` prints in a terminal: a banner, every event as a line, and the bot's summary line
whenever its phase, health or readiness moves (the same summary `kubectl tradingbot status` starts with)."""

from __future__ import annotations

import sys
from typing import TextIO

from tradingbot_operator.local.alerts import LocalEvent
from tradingbot_operator.local.runner import LocalRunner


class Console:
    def __init__(self, runner: LocalRunner, stream: TextIO = sys.stdout) -> None:
        self.runner = runner
        self.stream = stream
        self._summary = ""

    def attach(self) -> None:
        self.runner.events.listeners.append(self.event)
        self.runner.listeners.append(self.status)

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def banner(self) -> None:
        runner = self.runner
        names = ", ".join(runner.ports) or "none yet"
        self.say(
            f"{runner.bot.name}: {runner.bot.mode.value} mode, {len(runner.ports)} components ({names})\n"
            f"  config {runner.bot.source} (watched: valid changes apply, broken ones are reported)\n"
            f"  state and logs in {runner.state.path}\n"
            "  Ctrl-C stops the components in reverse phase order (twice: kill them)"
        )

    def event(self, event: LocalEvent) -> None:
        self.say(event.line())

    def status(self, runner: LocalRunner) -> None:
        status = runner.status
        summary = (
            f"{runner.bot.name}: {status.get('phase', '-')}, {status.get('health', '-')}, "
            f"{status.get('ready', '-')} ready, startup {status.get('startupPhase') or '-'}"
        )
        if summary != self._summary:
            self._summary = summary
            self.say(f"-- {summary}")
