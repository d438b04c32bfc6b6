"""Log output of a component process: one JSON object per line on stderr (plain text when
`TRADINGBOT_LOG_FORMAT=plain`), level from `system.log_level`, or DEBUG while `system.debug` is on (both hot).

Extras passed with `extra={...}` become JSON keys; keys that name secrets are redacted on the way out.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from tradingbot_components.config.schema import SystemConfig

FORMAT_VARIABLE = "TRADINGBOT_LOG_FORMAT"
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("dsn", "password", "secret", "token", "api_key", "authorization")


def _redact(key: str, value: Any) -> Any:
    return "***" if any(word in key.lower() for word in _SECRET_WORDS) and value is not None else value


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "component", "logger", "message", ...extras}`, one line per record."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _redact(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """`12:00:00.123 INFO  storage config: message` for people reading a terminal."""

    def __init__(self, component: str) -> None:
        super().__init__(
            f"%(asctime)s.%(msecs)03d %(levelname)-7s {component} %(name)s: %(message)s", "%H:%M:%S"
        )


def configure_logging(
    component: str, *, level: str = "INFO", fmt: str = "json", stream: TextIO | None = None
) -> logging.Handler:
    """Route the root logger to `stream` (stderr) in the chosen format; returns the handler installed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(PlainFormatter(component) if fmt == "plain" else JsonFormatter(component))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    set_level(level)
    # Chatty libraries stay at WARNING unless we debug.
    for name in ("aiohttp.access", "kubernetes_asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def effective_level(system: SystemConfig) -> str:
    """The level a process logs at: DEBUG while `system.debug` is on, `system.log_level` otherwise."""
    return "DEBUG" if system.debug else system.log_level


def set_level(level: str) -> None:
    """Apply a level to the root logger (the chatty libraries above stay at WARNING)."""
    logging.getLogger().setLevel(level.upper())


def current_level() -> str:
    return logging.getLevelName(logging.getLogger().getEffectiveLevel())
