"""metav1.Condition bookkeeping: a condition's lastTransitionTime moves only when its status does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tradingbot_operator.api.status import Condition


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: bool | None  # None: Unknown
    reason: str
    message: str = ""


def _text(status: bool | None) -> str:
    return "Unknown" if status is None else ("True" if status else "False")


def merge_conditions(
    previous: Sequence[Condition], updates: Sequence[ConditionUpdate], generation: int, now: str
) -> list[Condition]:
    """The new condition list, in the order of `updates`, keeping transition times of unchanged statuses."""
    old = {c.type: c for c in previous}
    merged = []
    for update in updates:
        status = _text(update.status)
        before = old.get(update.type)
        moved = before is None or before.status != status
        merged.append(
            Condition(
                type=update.type,
                status=status,
                reason=update.reason,
                message=update.message,
                last_transition_time=now if moved or before is None else before.last_transition_time,
                observed_generation=generation,
            )
        )
    return merged


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)
