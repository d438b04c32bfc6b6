"""`kubectl-tradingbot`: argument parsing and the command shells that fetch, decide (pure modules) and print.

Installed as a console script; kubectl runs any `kubectl-<name>` on PATH as `kubectl <name>`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import yaml

from tradingbot_operator.api.constants import Annotations
from tradingbot_operator.plugin import diagnostics, restart
from tradingbot_operator.plugin.errors import EXIT_CODE_HELP, ExitCode, PluginError
from tradingbot_operator.plugin.reading import read_bot
from tradingbot_operator.plugin.session import Session, connect
from tradingbot_operator.plugin.views import (
    health_exit_code,
    render_health,
    render_list,
    render_status,
)

PROG = "kubectl tradingbot"
DEFAULT_WAIT_SECONDS = 120.0


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with 64, so they never look like a health verdict (1 or 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On subcommands the defaults are suppressed, so `-n x status bot` and `status bot -n x` both work.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("cluster")
    group.add_argument("--kubeconfig", default=default, help="path to the kubeconfig (default: $KUBECONFIG)")
    group.add_argument("--context", default=default, help="kubeconfig context to use")
    group.add_argument(
        "-n", "--namespace", default=default, help="namespace of the bot (default: the context's)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Inspect and operate TradingBots. The plugin reads the TradingBot resource and writes "
        "only annotations on it; the operator does the work.",
        epilog=EXIT_CODE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_,
            description=help_,
            aliases=list(aliases),
            epilog=EXIT_CODE_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _connection_options(sub, top=False)
        return sub

    status = command("status", "summary, conditions, components, config and recent alerts of a bot")
    status.add_argument("bot", metavar="BOT")
    status.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")

    listing = command("list", "all bots with READY, PHASE, HEALTH, STARTUP and AGE", aliases=("ls",))
    listing.add_argument("-A", "--all-namespaces", action="store_true", help="bots of every namespace")

    health = command(
        "health", "per-component health and root causes; exit 0 Healthy, 1 Degraded/Unknown, 2 Unhealthy"
    )
    health.add_argument("bot", metavar="BOT")
    health.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code")

    restarting = command(
        "restart",
        "ask the operator to restart a component (or all) by annotating the TradingBot",
    )
    restarting.add_argument("bot", metavar="BOT")
    restarting.add_argument(
        "component",
        metavar="COMPONENT",
        nargs="?",
        default=restart.ALL,
        help="component name(s), or 'all' (default)",
    )
    restarting.add_argument(
        "--wait", action="store_true", help="wait until the operator has carried out the restart"
    )
    restarting.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WAIT_SECONDS,
        metavar="SECONDS",
        help="deadline for --wait (default: %(default)g)",
    )

    dashboard = command(
        "dashboard",
        "live terminal dashboard of a bot (status, events, operator metrics); keys: r restart the selected "
        "component, R all, s suspend/resume, q quit",
    )
    dashboard.add_argument("bot", metavar="BOT")
    dashboard.add_argument(
        "--operator-metrics",
        metavar="URL",
        help="the operator's /metrics URL (e.g. after kubectl port-forward)",
    )

    report = command(
        "diagnostics", "write a redacted ZIP report of a bot (no Secret data)", aliases=("report",)
    )
    report.add_argument("bot", metavar="BOT")
    report.add_argument(
        "--output", metavar="FILE", help="ZIP path (default: tradingbot-<ns>-<bot>-<time>.zip)"
    )
    return parser


def _status(session: Session, args: argparse.Namespace) -> int:
    raw = session.get_bot(args.bot)
    if args.output == "json":
        print(json.dumps(raw.get("status") or {}, indent=2))
    elif args.output == "yaml":
        print(yaml.safe_dump(raw.get("status") or {}, sort_keys=False), end="")
    else:
        print(render_status(read_bot(raw), datetime.now(UTC)))
    return ExitCode.OK


def _list(session: Session, args: argparse.Namespace) -> int:
    bots = [read_bot(raw) for raw in session.list_bots(args.all_namespaces)]
    if not bots:
        where = "any namespace" if args.all_namespaces else f"namespace {session.namespace!r}"
        print(f"No TradingBots found in {where}.", file=sys.stderr)
        return ExitCode.OK
    print(render_list(bots, datetime.now(UTC), all_namespaces=args.all_namespaces))
    return ExitCode.OK


def _health(session: Session, args: argparse.Namespace) -> int:
    bot = read_bot(session.get_bot(args.bot))
    if not args.quiet:
        print(render_health(bot))
    return health_exit_code(bot.status.health)


def _restart(session: Session, args: argparse.Namespace) -> int:
    bot = read_bot(session.get_bot(args.bot))
    plan = restart.plan_request(bot, args.component)
    for name in plan.skipped:
        print(f"note: {name} has no replicas; the operator will not restart it", file=sys.stderr)
    restart.request_restart(session, bot, plan)
    print(
        f"restart of {', '.join(plan.expected)} requested: TradingBot {bot.name} "
        f"(namespace {bot.namespace}) annotated {Annotations.RESTART_REQUEST}={plan.annotation}"
    )
    if not args.wait:
        print(f"the operator carries it out; follow it with `{PROG} status {bot.name}`")
        return ExitCode.OK
    done = restart.wait_for_restart(session, plan, args.timeout)
    print(f"restarted: {', '.join(done.restarted)}")
    return ExitCode.OK


def _diagnostics(session: Session, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    path = Path(args.output) if args.output else diagnostics.default_path(session.namespace, args.bot, now)
    report = diagnostics.collect(session, args.bot, now)
    for problem in report.problems:
        print(f"warning: not collected: {problem}", file=sys.stderr)
    written = diagnostics.write_zip(report, path, folder=path.name.removesuffix(".zip"))
    print(written.resolve())
    return ExitCode.OK


def _dashboard(session: Session, args: argparse.Namespace) -> int:
    from tradingbot_operator.dashboard.app import Dashboard
    from tradingbot_operator.dashboard.sources import ClusterSource

    read_bot(session.get_bot(args.bot))  # a missing bot or CRD is an error before the screen opens
    Dashboard(ClusterSource(session, args.bot, args.operator_metrics)).run()
    return ExitCode.OK


COMMANDS: dict[str, Callable[[Session, argparse.Namespace], int]] = {
    "status": _status,
    "list": _list,
    "ls": _list,
    "health": _health,
    "restart": _restart,
    "dashboard": _dashboard,
    "diagnostics": _diagnostics,
    "report": _diagnostics,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error (64)
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        return int(ExitCode.USAGE)
    try:
        session = connect(args.kubeconfig, args.context, args.namespace)
        try:
            return int(COMMANDS[args.command](session, args))
        finally:
            session.close()
    except PluginError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return int(error.code)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
