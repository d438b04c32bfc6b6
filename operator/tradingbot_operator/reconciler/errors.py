"""Which reconcile failures are the API server being away, and how to say so in one line.

While kube-apiserver or etcd restarts, every call fails for a few seconds; that is expected and retried with
backoff, so it is logged as one warning line, not as a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class BotGone(Exception):
    """The TradingBot itself no longer exists (its status patch found nothing): its reconcile loop ends.

    kopf normally stops a bot's daemon when it sees the deletion, but it can miss it (a watched namespace
    it stopped watching while being deleted, a finalizer removed by hand)."""


def unavailable(error: BaseException) -> str | None:
    """A one-line description when `error` means the API server is unreachable or overloaded, else None."""
    if isinstance(error, ApiException):
        return f"HTTP {error.status} {error.reason}" if error.status in RETRYABLE_STATUS else None
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect to {error.host}:{error.port}"
    if isinstance(
        error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError
    ):
        return f"connection lost ({type(error).__name__})"
    if isinstance(error, TimeoutError | ConnectionError):
        return f"{type(error).__name__}"
    return None
