"""`tradingbot-operator`: run the operator against the current kubeconfig (or in-cluster credentials)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

import kopf

from tradingbot_operator.reconciler.errors import unavailable


class _QuietWakeups(logging.Filter):
    """kopf logs every successful handler at INFO; the wake-up hooks run on every child event, so hide them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Handler 'wake_", "Handler 'probe_"))


class _TransientErrorsInOneLine(logging.Filter):
    """Keep a record caused by the API server being away, without its traceback.

    kopf retries such errors itself and its message names the error ("Throttling for N seconds due to an
    unexpected error: <repr>"); in an expected outage the traceback is noise. Bugs keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and unavailable(record.exc_info[1]) is not None:
            record.exc_info = None
            record.exc_text = None
        return True


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tradingbot-operator", description="Reconcile TradingBot resources into phased bot components."
    )
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable); default: all namespaces",
    )
    parser.add_argument(
        "--liveness",
        default="http://127.0.0.1:8081/healthz",
        help="liveness endpoint URL to serve (default: %(default)s)",
    )
    parser.add_argument("--image", default=None, help="image for the built-in components")
    parser.add_argument(
        "--metrics-address",
        default=os.environ.get("TRADINGBOT_METRICS_ADDRESS", "0.0.0.0:8082"),
        help="HOST:PORT to serve Prometheus /metrics on (default: %(default)s; empty disables)",
    )
    parser.add_argument(
        "--alert-webhook",
        default=os.environ.get("TRADINGBOT_ALERT_WEBHOOK", ""),
        help="URL to POST alerts to as JSON (optional)",
    )
    parser.add_argument("--log-format", choices=["plain", "json", "full"], default="plain")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.image:
        os.environ["TRADINGBOT_COMPONENT_IMAGE"] = args.image
    # Settings reach the kopf startup handler through the environment of this process.
    os.environ["TRADINGBOT_METRICS_ADDRESS"] = args.metrics_address
    os.environ["TRADINGBOT_ALERT_WEBHOOK"] = args.alert_webhook
    from tradingbot_operator.reconciler import handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=args.verbose, log_format=getattr(kopf.LogFormat, args.log_format.upper()))
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietWakeups())
        handler.addFilter(_TransientErrorsInOneLine())
    # The API client logs whole response bodies at DEBUG; those can carry Secret data. Never let them through.
    logging.getLogger("kubernetes_asyncio.client.rest").setLevel(logging.WARNING)
    try:
        asyncio.run(
            kopf.operator(
                standalone=True,
                clusterwide=not args.namespace,
                namespaces=args.namespace,
                liveness_endpoint=args.liveness,
            )
        )
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
