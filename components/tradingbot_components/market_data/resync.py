"""What to do when a book stops verifying: resubscribe that pair for a fresh snapshot, backing off when
fresh snapshots keep failing, and reconnecting when resubscribing does not help.

Purely computational; the exchange client performs the unsubscribe/subscribe or the reconnect.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ResyncReason(enum.StrEnum):
    """Why a pair's book is not valid right now."""

    CHECKSUM_MISMATCH = "checksum_mismatch"
    BAD_FRAME = "bad_frame"
    DISCONNECTED = "disconnected"


class ResyncAction(enum.StrEnum):
    RESUBSCRIBE = "resubscribe"  # unsubscribe + subscribe this pair's book, after `delay`
    RECONNECT = "reconnect"  # drop the connection; the reconnect resubscribes everything


@dataclass(frozen=True)
class ResyncPolicy:
    immediate: int = 2  # this many consecutive failures resubscribe with no delay
    base: float = 0.5
    cap: float = 30.0
    reconnect_after: int = 6  # consecutive failures that make us distrust the connection itself

    def __post_init__(self) -> None:
        if self.immediate < 0 or self.reconnect_after < 1:
            raise ValueError("immediate must be >= 0 and reconnect_after >= 1")
        if not 0 < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap, got base={self.base} cap={self.cap}")


@dataclass(frozen=True)
class ResyncPlan:
    action: ResyncAction
    delay: float  # seconds before acting


def plan_resync(consecutive_failures: int, policy: ResyncPolicy) -> ResyncPlan:
    """The plan after the `consecutive_failures`-th failure in a row (counting from 1) for one pair.

    A failure streak ends when an update verifies on top of a fresh snapshot. Every `reconnect_after`-th
    failure in a streak asks for a reconnect instead; the streak goes on so the backoff keeps growing.
    """
    if consecutive_failures < 1:
        raise ValueError(f"consecutive_failures must be >= 1, got {consecutive_failures}")
    if consecutive_failures % policy.reconnect_after == 0:
        return ResyncPlan(ResyncAction.RECONNECT, 0.0)
    if consecutive_failures <= policy.immediate:
        return ResyncPlan(ResyncAction.RESUBSCRIBE, 0.0)
    exponent = consecutive_failures - policy.immediate - 1
    return ResyncPlan(ResyncAction.RESUBSCRIBE, min(policy.cap, policy.base * 2.0**exponent))
