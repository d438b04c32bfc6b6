"""Fault injection for tests and drills: `POST /_sim/faults` sets what goes wrong, `GET` shows it.

Modes: `none`, `unavailable` (`EService:Unavailable`), `http_error` (a bare 502/520 like Cloudflare),
`latency` (answers delayed), `lockout` (`EGeneral:Temporary lockout`), `throttled`
(`EService:Throttled: <ts>`), `error` (any Kraken error text), `drop_ws` (close every WebSocket now),
`corrupt_checksum` (the next n book updates carry a wrong checksum). Optional `scope`
(`public`|`private`|`all`), `count` (expire after n matching requests) and `duration` (seconds).
Parsing and the per-request decision are pure; the HTTP layer applies the action.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradingbot_components.kraken.errors import KrakenError


class FaultMode(enum.StrEnum):
    NONE = "none"
    UNAVAILABLE = "unavailable"
    HTTP_ERROR = "http_error"
    LATENCY = "latency"
    LOCKOUT = "lockout"
    THROTTLED = "throttled"
    ERROR = "error"
    DROP_WS = "drop_ws"
    CORRUPT_CHECKSUM = "corrupt_checksum"


class Scope(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    ALL = "all"


class FaultSpecError(ValueError):
    """A fault document that cannot be applied; names the field and the reason."""


@dataclass(frozen=True, slots=True)
class Fault:
    mode: FaultMode
    scope: Scope = Scope.ALL
    status: int | None = None  # http_error
    seconds: float | None = None  # latency delay; lockout/throttled length
    error: str | None = None  # error mode
    count: int | None = None  # matching requests left before it clears itself
    until: float | None = None  # clears itself at this time

    def to_dict(self, now: float) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": self.mode.value, "scope": self.scope.value}
        for name in ("status", "seconds", "error", "count"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.until is not None:
            body["expires_in"] = round(max(0.0, self.until - now), 3)
        return body


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do to one request: answer `error` in the envelope, answer a bare HTTP `status`, or wait."""

    error: str | None = None
    status: int | None = None
    delay: float = 0.0


def _number(document: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    value = document.get(name)
    if value is None:
        if required:
            raise FaultSpecError(f"{name}: required for mode {document.get('mode')!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{name}: expected a number >= 0, got {value!r}")
    return float(value)


def parse_fault(document: Any, now: float) -> Fault:
    """Validate a `POST /_sim/faults` body; raises `FaultSpecError`."""
    if not isinstance(document, Mapping):
        raise FaultSpecError('body: expected a JSON object like {"mode": "unavailable"}')
    try:
        mode = FaultMode(str(document.get("mode")))
    except ValueError:
        modes = ", ".join(m.value for m in FaultMode)
        raise FaultSpecError(f"mode: expected one of {modes}, got {document.get('mode')!r}") from None
    default_scope = Scope.PRIVATE if mode is FaultMode.LOCKOUT else Scope.ALL
    try:
        scope = Scope(str(document.get("scope", default_scope.value)))
    except ValueError:
        raise FaultSpecError(
            f"scope: expected public, private or all, got {document.get('scope')!r}"
        ) from None
    count = document.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultSpecError(f"count: expected an integer >= 1, got {count!r}")
    duration = _number(document, "duration")
    status = seconds = None
    error = None
    if mode is FaultMode.HTTP_ERROR:
        status = document.get("status", 502)
        if not isinstance(status, int) or isinstance(status, bool) or not 500 <= status <= 599:
            raise FaultSpecError(f"status: expected a 5xx HTTP status such as 502 or 520, got {status!r}")
    elif mode is FaultMode.LATENCY:
        seconds = _number(document, "seconds", required=True)
    elif mode in (FaultMode.LOCKOUT, FaultMode.THROTTLED):
        seconds = _number(document, "seconds")
        seconds = (900.0 if mode is FaultMode.LOCKOUT else 5.0) if seconds is None else seconds
        if mode is FaultMode.LOCKOUT and duration is None:
            duration = seconds
    elif mode is FaultMode.ERROR:
        error = document.get("error")
        if not isinstance(error, str) or error[:1] not in ("E", "W") or ":" not in error:
            raise FaultSpecError(f"error: expected a Kraken error text like 'EService:Busy', got {error!r}")
    elif mode is FaultMode.CORRUPT_CHECKSUM and count is None:
        count = 1
    return Fault(mode, scope, status, seconds, error, count, None if duration is None else now + duration)


class FaultState:
    """The active request fault, plus pending checksum corruptions (they count book updates, not requests)."""

    def __init__(self) -> None:
        self.active: Fault | None = None
        self.corrupt_remaining = 0
        self.injected = 0

    def apply(self, fault: Fault) -> None:
        if fault.mode is FaultMode.NONE:
            self.active, self.corrupt_remaining = None, 0
        elif fault.mode is FaultMode.CORRUPT_CHECKSUM:
            self.corrupt_remaining += fault.count or 1
        elif fault.mode is not FaultMode.DROP_WS:
            self.active = fault

    def _current(self, now: float) -> Fault | None:
        fault = self.active
        if fault is not None and fault.until is not None and now >= fault.until:
            self.active = fault = None
        return fault

    def on_request(self, scope: Scope, now: float) -> FaultAction | None:
        """The action for one REST request of `scope` (public/private), counting it against `count`."""
        fault = self._current(now)
        if fault is None or (fault.scope is not Scope.ALL and fault.scope is not scope):
            return None
        if fault.count is not None:
            left = fault.count - 1
            self.active = (
                None
                if left <= 0
                else Fault(
                    fault.mode, fault.scope, fault.status, fault.seconds, fault.error, left, fault.until
                )
            )
        self.injected += 1
        if fault.mode is FaultMode.UNAVAILABLE:
            return FaultAction(error=KrakenError.SERVICE_UNAVAILABLE.value)
        if fault.mode is FaultMode.HTTP_ERROR:
            return FaultAction(status=fault.status)
        if fault.mode is FaultMode.LATENCY:
            return FaultAction(delay=fault.seconds or 0.0)
        if fault.mode is FaultMode.LOCKOUT:
            return FaultAction(error=KrakenError.TEMPORARY_LOCKOUT.value)
        if fault.mode is FaultMode.THROTTLED:
            return FaultAction(error=f"{KrakenError.THROTTLED.value}: {int(now + (fault.seconds or 0))}")
        return FaultAction(error=fault.error)

    def take_corruption(self) -> bool:
        """Whether the next book update must carry a wrong checksum."""
        if self.corrupt_remaining <= 0:
            return False
        self.corrupt_remaining -= 1
        self.injected += 1
        return True

    def describe(self, now: float) -> dict[str, Any]:
        fault = self._current(now)
        return {
            "active": None if fault is None else fault.to_dict(now),
            "corrupt_checksum_remaining": self.corrupt_remaining,
            "injected": self.injected,
        }
