"""The operator's log filters: an API server outage is logged in one line per retry, real bugs keep their traceback."""

from __future__ import annotations

import io
import logging
import sys

import aiohttp
import pytest

from tradingbot_operator.cli import _TransientErrorsInOneLine


def _logged(exc: BaseException) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_TransientErrorsInOneLine())
    logger = logging.getLogger(f"test-cli-logging-{id(exc)}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise exc
    except BaseException as caught:
        logger.exception(f"Throttling for 1 seconds due to an unexpected error: {caught!r}")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientPayloadError("Response payload is not completed"),
        aiohttp.ServerDisconnectedError(),
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_outage_is_one_line_naming_the_error(exc: BaseException) -> None:
    out = _logged(exc)
    assert "Traceback" not in out
    assert out.count("\n") == 1
    assert type(exc).__name__ in out


def test_a_bug_keeps_its_traceback() -> None:
    out = _logged(KeyError("spec"))
    assert "Traceback (most recent call last)" in out
    assert "KeyError: 'spec'" in out
    assert sys.exc_info() == (None, None, None)
