"""Calling user-supplied hooks that may be sync or async, and describing their failures for people.

Every runtime piece accepts either kind of callable; this is the one place that tells them apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


async def call_hook(hook: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call `hook` and await its result when it is awaitable."""
    result = hook(*args, **kwargs)
    if inspect.isawaitable(result):
        return await result
    return result


def describe_error(exc: BaseException) -> str:
    """`"ConnectionError: refused"`, or just the type name when the exception has no message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
