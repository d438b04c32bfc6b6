"""`tradingbot-component NAME [--config FILE] [--configmap NS/NAME] [--credentials DIR] [--port N] [--host H]`
(also `python -m tradingbot_components NAME ...`): run one component until SIGTERM.

Exit codes: 0 after a clean stop, 1 when startup or shutdown failed, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tradingbot_components.app import (
    DEFAULT_PORT,
    ComponentArgumentsError,
    Options,
    UnknownComponent,
    build_app,
    known_components,
)
from tradingbot_components.config.logs import FORMAT_VARIABLE, configure_logging
from tradingbot_components.config.manager import ConfigRejected

log = logging.getLogger("tradingbot_components")


def _configmap(value: str) -> tuple[str, str]:
    namespace, _, name = value.partition("/")
    if not namespace or not name or "/" in name:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE/NAME, got {value!r}")
    return namespace, name


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tradingbot-component",
        description="Run one TradingBot component process (config reload, probes, metrics, graceful stop).",
        epilog=f"known components: {', '.join(known_components())}. Config precedence: environment "
        "(TRADINGBOT_<SECTION>_<KEY>) over the live document over defaults; see docs/configuration.md.",
    )
    p.add_argument("component", metavar="NAME", help="the component to run")
    p.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("TRADINGBOT_CONFIG") or None,
        metavar="FILE",
        help="config document (JSON or YAML), watched for changes; default $TRADINGBOT_CONFIG",
    )
    p.add_argument(
        "--configmap",
        type=_configmap,
        metavar="NS/NAME",
        help="watch this ConfigMap (key config.json) through the Kubernetes API; primary over --config",
    )
    p.add_argument("--credentials", type=Path, metavar="DIR", help="directory holding api-key and api-secret")
    p.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT}; 0 = any)"
    )
    p.add_argument(
        "--grace-period", type=float, default=25.0, metavar="SECONDS", help="time allowed for a graceful stop"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    if args.component not in known_components():
        print(UnknownComponent(args.component), file=sys.stderr)
        return 2
    fmt = "plain" if os.environ.get(FORMAT_VARIABLE, "").lower() == "plain" else "json"
    configure_logging(args.component, fmt=fmt)
    options = Options(
        component=args.component,
        config_file=args.config,
        configmap=args.configmap,
        credentials=args.credentials,
        host=args.host,
        port=args.port,
        grace_period=args.grace_period,
        extra=tuple(extra),
    )
    try:
        app = build_app(options)
    except ConfigRejected as exc:
        log.error("cannot start %s: %s", args.component, exc)
        return 1
    except ComponentArgumentsError as exc:
        print(f"tradingbot-component {args.component}: {exc}", file=sys.stderr)
        return 2
    if options.extra and not app.extra_args_consumed:
        print(
            f"tradingbot-component {args.component}: unrecognized arguments: {' '.join(options.extra)}",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(app.run())


if __name__ == "__main__":
    sys.exit(main())
