"""Exit codes of `kubectl tradingbot` and the errors that carry them.

API failures are translated into messages a person can act on (which bot, which namespace, which verb was
refused) by a pure classifier, so the mapping is unit-tested without a server.
"""

from __future__ import annotations

import enum
import json
from typing import Any


class ExitCode(enum.IntEnum):
    """Documented in `--help`; scripts may rely on them."""

    OK = 0  # success; `health`: Healthy
    DEGRADED = 1  # `health`: Degraded or Unknown
    UNHEALTHY = 2  # `health`: Unhealthy
    NOT_FOUND = 3  # the bot, or a component of it, does not exist
    NO_CRD = 4  # the TradingBot CRD is not installed
    FORBIDDEN = 5  # RBAC refused a request
    UNREACHABLE = 6  # cannot reach the API server, or the kubeconfig/context is unusable
    TIMEOUT = 7  # a --wait deadline passed
    API_ERROR = 8  # any other failure (API error, unreadable status, local file)
    USAGE = 64  # bad arguments (sysexits EX_USAGE)
    INTERRUPTED = 130  # Ctrl-C


EXIT_CODE_HELP = """exit codes:
  0   success; for `health`: Healthy
  1   `health`: Degraded or Unknown
  2   `health`: Unhealthy
  3   not found: the bot (name and namespace in the message) or the component
  4   the TradingBot CRD (tradingbots.tradingbot.dev) is not installed
  5   permission denied (RBAC); the message names the verb and resource
  6   cannot reach the API server, or the kubeconfig/context is unusable
  7   `restart --wait`: the deadline passed before the operator carried out the restart
  8   other errors (API errors, unreadable status, cannot write a file)
  64  usage error (bad arguments)"""


class PluginError(Exception):
    """An error with the message to print and the exit code to return."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _parse_body(body: str | bytes | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def classify_api_error(
    status: int, body: str | bytes | None, *, action: str, namespace: str | None, name: str | None = None
) -> PluginError:
    """Turn an API error response into a PluginError; `action` says what was attempted ("get TradingBot")."""
    payload = _parse_body(body)
    message = str(payload.get("message") or "").strip()
    details = payload.get("details") if isinstance(payload.get("details"), dict) else {}
    where = f" in namespace {namespace!r}" if namespace else ""
    if status == 404:
        # A missing object is a Status naming it; a missing resource type is a bare 404 page.
        if name is not None and details.get("name") == name:
            return PluginError(f"TradingBot {name!r} not found{where}", ExitCode.NOT_FOUND)
        return PluginError(
            "the TradingBot API (tradingbots.tradingbot.dev/v1alpha1) is not served by this cluster: "
            "install the CRD (helm install the operator chart, or kubectl apply -f crds/)",
            ExitCode.NO_CRD,
        )
    if status in (401, 403):
        reason = message or "forbidden"
        hint = "check your credentials" if status == 401 else "ask for RBAC access to it"
        return PluginError(f"permission denied to {action}{where}: {reason} ({hint})", ExitCode.FORBIDDEN)
    if status == 409:
        return PluginError(
            f"conflict while trying to {action}{where}: {message or 'the object changed'}; try again",
            ExitCode.API_ERROR,
        )
    detail = message or f"HTTP {status}"
    return PluginError(f"cannot {action}{where}: {detail}", ExitCode.API_ERROR)
