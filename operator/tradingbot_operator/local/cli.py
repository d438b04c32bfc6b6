"""`tradingbot`: run a TradingBot on this machine, without Kubernetes, and look at it.

tradingbot run CONFIG                    run it in the foreground (Ctrl-C stops it in reverse order)
tradingbot run CONFIG --dashboard        the same, with the live terminal dashboard
tradingbot run CONFIG --health-check     one shot: the running bot's health (or start, report, stop)
tradingbot run CONFIG --diagnostics [ZIP]  a redacted report of the running bot (or start, report, stop)
tradingbot status|stop|restart CONFIG    ask a running bot
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tradingbot_operator.local import health
from tradingbot_operator.local.console import Console
from tradingbot_operator.local.control import ControlClient, ControlUnreachable
from tradingbot_operator.local.document import DocumentProblem, LocalBot, bot_name, load, parse_text, to_spec
from tradingbot_operator.local.session import BotSession
from tradingbot_operator.local.statedir import AlreadyRunning, StateDir, default_root
from tradingbot_operator.plugin.errors import ExitCode

PROG = "tradingbot"
EXIT_CODES = """exit codes:
  run:             0 stopped cleanly, 1 a component had to be killed, 2 invalid config file (nothing started),
                   4 the bot is already running
  --health-check:  0 Healthy, 1 Degraded or Unknown, 2 Unhealthy, 3 not reachable (no running bot, and it
                   could not be started) -- the codes of `kubectl tradingbot health`
  64 usage error, 130 interrupted"""
INVALID_CONFIG = 2
ALREADY_RUNNING = 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _bot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", metavar="CONFIG", type=Path, help="config file (JSON or YAML) or TradingBot manifest"
    )
    parser.add_argument("--name", help="the bot's name (default: the file's `name`, or its stem)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help=f"where bots keep state and logs (default {default_root()})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run a TradingBot on this machine: each component a child process, started, watched and "
        "repaired by the operator's own planner.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run the bot in the foreground",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _bot_options(run)
    run.add_argument(
        "--credentials", type=Path, metavar="DIR", help="live mode: directory with api-key and api-secret"
    )
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--dashboard", action="store_true", help="show the live terminal dashboard")
    mode.add_argument(
        "--health-check", action="store_true", help="report health once and exit with its verdict"
    )
    mode.add_argument(
        "--diagnostics", nargs="?", const="", metavar="ZIP", help="write a redacted diagnostics ZIP and exit"
    )
    run.add_argument("-o", "--output", choices=("text", "json"), default="text", help="--health-check format")
    run.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long a one-shot start waits for startup",
    )
    run.add_argument("--alert-webhook", metavar="URL", help="POST every alert as JSON to this URL")
    for name, help_ in (
        ("status", "the running bot's status (as `kubectl tradingbot status`)"),
        ("dashboard", "the live dashboard of a bot running elsewhere (another `tradingbot run`)"),
        ("stop", "stop the running bot in reverse phase order"),
    ):
        sub = commands.add_parser(name, help=help_)
        _bot_options(sub)
    restart = commands.add_parser("restart", help="restart a component of the running bot (or all)")
    _bot_options(restart)
    restart.add_argument("component", metavar="COMPONENT", nargs="?", default="all")
    return parser


def resolve_name(args: argparse.Namespace) -> str:
    """The bot's name without validating the file (a running bot can be asked even while its file is broken)."""
    if args.name:
        return bot_name(args.name)
    try:
        found, _spec, _credentials, _manifest = to_spec(
            parse_text(args.config.read_text(encoding="utf-8"), args.config), args.config
        )
    except (OSError, DocumentProblem):
        found = None
    return bot_name(found or args.config.stem)


def state_of(args: argparse.Namespace) -> StateDir:
    return StateDir.of(resolve_name(args), args.state_dir)


def _load(args: argparse.Namespace) -> LocalBot | int:
    try:
        return load(args.config, name=args.name, credentials=getattr(args, "credentials", None))
    except DocumentProblem as problem:
        print(f"error: {args.config} cannot be run; nothing was started:", file=sys.stderr)
        for line in problem.problems:
            print(f"  {line}", file=sys.stderr)
        return INVALID_CONFIG


def _logging(state: StateDir, console: bool) -> None:
    """The runner's own log: runner.log in the state directory; warnings also on the console (not under the
    dashboard, which owns the terminal)."""
    state.create()
    handlers: list[logging.Handler] = [logging.FileHandler(state.path / "runner.log")]
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
        handlers[-1].setLevel(logging.WARNING)
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s  %(levelname)-7s  %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)


async def _foreground(bot: LocalBot, args: argparse.Namespace) -> int:
    state = StateDir.of(bot.name, args.state_dir)
    _logging(state, console=not args.dashboard)
    session = BotSession(bot, state, alert_webhook=args.alert_webhook)
    loop = asyncio.get_running_loop()
    interrupts = 0

    def interrupted() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            session.runner.kill_all()
        session.request_stop()

    console = Console(session.runner)
    if not args.dashboard:
        console.banner()
        console.attach()  # before the start, so the first events are shown too
    async with session:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupted)
        try:
            if args.dashboard:
                from tradingbot_operator.dashboard.local import run_local_dashboard

                await run_local_dashboard(session)
            else:
                await session.stop_requested.wait()
                console.say(f"-- {bot.name}: stopping in reverse phase order")
        finally:
            clean = await session.shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    if not args.dashboard:
        print(f"-- {bot.name}: stopped{'' if clean else ' (components had to be killed)'}", flush=True)
    return 0 if clean else 1


def _run(args: argparse.Namespace) -> int:
    if args.health_check or args.diagnostics is not None:
        return asyncio.run(health.one_shot(args, state_of(args), _load))
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    try:
        return asyncio.run(_foreground(loaded, args))
    except AlreadyRunning as error:
        print(f"error: {error}", file=sys.stderr)
        return ALREADY_RUNNING


def _ask(args: argparse.Namespace) -> int:
    state = state_of(args)
    try:
        client = ControlClient(state)
        if args.command == "status":
            print(health.render_status(client.report()))
        elif args.command == "dashboard":
            from tradingbot_operator.dashboard.app import Dashboard
            from tradingbot_operator.dashboard.sources import ControlSource

            Dashboard(ControlSource(client, state.path.name)).run()
        elif args.command == "stop":
            client.stop()
            print(f"{state.path.name}: stopping in reverse phase order")
        else:
            client.restart(args.component)
            print(f"{state.path.name}: restart of {args.component} requested")
    except ControlUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return int(ExitCode.NOT_FOUND)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(ExitCode.USAGE)
    try:
        if args.command == "run":
            return _run(args)
        return _ask(args)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
