"""Every call to the exchange, end to end: circuit, rate governor, signature, send, classify, retry.

Private calls are dispatched by one writer: signing, admission by the governor and sending happen under one
lock, so requests reach Kraken in nonce order (concurrent senders would reorder them and collect
`EAPI:Invalid nonce`), and the governor counts a call at the moment it leaves. Public calls skip the lock.
The decisions (what a call is, whether to resend) are pure functions in `calls` and `retry`.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tradingbot_components.gateway.answers import GatewayAnswer, answer_for, gateway_error
from tradingbot_components.gateway.auth_client import AuthClient, AuthUnavailable, SigningRejected
from tradingbot_components.gateway.calls import (
    CallKind,
    body_format_for,
    call_kind,
    governed_pair,
    order_count,
)
from tradingbot_components.gateway.metrics import CallOutcome, GatewayMetrics
from tradingbot_components.gateway.reconcile import (
    LOOKUPS,
    RECONCILED_HEADER,
    add_order_result,
    client_order_id,
    find_order,
    is_duplicate,
)
from tradingbot_components.gateway.retry import Delivery, RetrySettings, decide_retry, delivery_of
from tradingbot_components.kraken.breaker import BreakerState, CircuitBreaker
from tradingbot_components.kraken.errors import ErrorKind, parse_error
from tradingbot_components.kraken.limits import PUBLIC_METHODS
from tradingbot_components.kraken.rate_limit import RateGovernor
from tradingbot_components.kraken.transport import ExchangeReply, KrakenTransport
from tradingbot_components.runtime.backoff import backoff_delay

log = logging.getLogger(__name__)

_RATE_KINDS = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.TRADING_RATE_LIMITED})


class _LookupFailed(Exception):
    """The exchange could not say whether an order exists."""


class _Refused(Exception):
    """An attempt stopped before reaching the exchange with a final answer."""

    def __init__(self, answer: GatewayAnswer) -> None:
        self.answer = answer


Attempt = Callable[[int], Awaitable[ExchangeReply]]

# Seconds one call spent waiting for its turn (the private lock) and for rate capacity (the governor),
# summed over its attempts; answered as `X-Gateway-Wait` so callers can tell pacing from latency.
WAIT_HEADER = "X-Gateway-Wait"
_WAITED: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("gateway_waited", default=None)


def _add_wait(seconds: float) -> None:
    waited = _WAITED.get()
    if waited is not None:  # None outside a call (the half-open probe)
        waited[0] += seconds


Lookup = Callable[[], Awaitable[GatewayAnswer | None]]


class Dispatcher:
    """Runs calls; one instance per API key (the gateway's)."""

    def __init__(
        self,
        *,
        transport: KrakenTransport,
        auth: AuthClient,
        governor: RateGovernor,
        breaker: CircuitBreaker,
        metrics: GatewayMetrics,
        retry: RetrySettings | None = None,
        adaptive: Callable[[], bool] = lambda: True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_auth_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.transport, self.auth = transport, auth
        self.governor, self.breaker = governor, breaker
        self.metrics = metrics
        self.retry = retry or RetrySettings()
        self._adaptive = adaptive
        self._sleep = sleep
        self._on_auth_failure = on_auth_failure
        self._private_lock = asyncio.Lock()

    # -- calls -------------------------------------------------------------------------------------

    async def public(self, method: str, query: str = "") -> GatewayAnswer:
        # Public methods Kraken adds later are still public: charge them like Time.
        governed = method if method in PUBLIC_METHODS else "Time"

        async def attempt(number: int) -> ExchangeReply:
            waited = time.monotonic()
            await self.governor.acquire(governed)
            _add_wait(time.monotonic() - waited)
            self._admit(number)
            return await self.transport.public(method, query)

        return await self._run(method, CallKind.PUBLIC, None, attempt)

    async def private(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        pair_hint: str | None = None,
        order_age: float | None = None,
    ) -> GatewayAnswer:
        kind = call_kind(method, params)
        pair = governed_pair(method, params, pair_hint)
        attempt = self._private_attempt(method, params, pair, order_age)
        cl_ord_id = client_order_id(method, params) if kind is CallKind.IDEMPOTENT else None
        lookup = None if cl_ord_id is None else (lambda: self._find_order(cl_ord_id))
        return await self._run(method, kind, pair, attempt, lookup)

    def _private_attempt(
        self, method: str, params: Mapping[str, Any], pair: str | None, order_age: float | None
    ) -> Attempt:
        body_format = body_format_for(method, params)
        count = order_count(method, params)

        async def attempt(number: int) -> ExchangeReply:
            # Sign, admit and send as one step: requests leave in nonce order, counted when they leave.
            queued = time.monotonic()
            async with self._private_lock:
                waited = time.monotonic() - queued
                try:
                    signature = await self.auth.sign(method, params, body_format)
                except SigningRejected as exc:
                    text = f"EGeneral:Invalid arguments:{exc}"
                    raise _Refused(gateway_error(400, text, CallOutcome.BAD_REQUEST, number - 1)) from None
                pacing = time.monotonic()
                await self.governor.acquire(method, pair, order_age=order_age, count=count)
                _add_wait(waited + time.monotonic() - pacing)
                self._admit(number)
                return await self.transport.private(method, signature.body, signature.headers)

        return attempt

    async def _find_order(self, cl_ord_id: str) -> GatewayAnswer | None:
        """The order placed with `cl_ord_id`, as an AddOrder answer; None when it does not exist.

        Raises `_LookupFailed` when the exchange could not say: then nothing may be resent.
        """
        params = {"cl_ord_id": cl_ord_id}
        for method in LOOKUPS:
            answer = await self._attempts(
                method, CallKind.READ, None, self._private_attempt(method, params, None, None)
            )
            if answer.outcome is not CallOutcome.OK:
                raise _LookupFailed(f"{method} for cl_ord_id {cl_ord_id!r}: {answer.body.get('error')}")
            found = find_order(answer.body.get("result"), cl_ord_id)
            if found is not None:
                txid, order = found
                log.info("AddOrder %s found as %s after an uncertain delivery; not resent", cl_ord_id, txid)
                return GatewayAnswer(
                    200, add_order_result(txid, order), CallOutcome.OK, 0, headers={RECONCILED_HEADER: txid}
                )
        return None

    async def probe(self) -> BreakerState:
        """The half-open probe: one public Time call, if the breaker lets a probe through now."""
        if not self.breaker.allow():
            return self.breaker.state
        await self.governor.acquire("Time")
        reply = await self.transport.public("Time")
        self._observe("Time", None, reply)
        log.info("circuit probe (Time): %s", delivery_of(reply), extra={"detail": reply.detail})
        return self.breaker.state

    # -- the loop ----------------------------------------------------------------------------------

    def _admit(self, attempt: int) -> None:
        """Refuse unless the breaker is closed; half-open slots belong to the probe alone."""
        if self.breaker.state is BreakerState.CLOSED and self.breaker.allow():
            return
        retry_after = round(self.breaker.retry_after(), 3)
        text = f"EGateway:Circuit open:the exchange looks unwell; retry in {retry_after:g}s"
        answer = gateway_error(
            503,
            text,
            CallOutcome.CIRCUIT_OPEN,
            attempt - 1,
            retry_after=retry_after,
            headers={"Retry-After": str(max(1, round(retry_after)))},
        )
        raise _Refused(answer)

    async def _run(
        self, method: str, kind: CallKind, pair: str | None, attempt: Attempt, lookup: Lookup | None = None
    ) -> GatewayAnswer:
        started = time.monotonic()
        token = _WAITED.set([0.0])
        try:
            answer = await self._attempts(method, kind, pair, attempt, lookup)
            waited = (_WAITED.get() or [0.0])[0]
        finally:
            _WAITED.reset(token)
        self.metrics.calls.labels(method, answer.outcome.value).inc()
        self.metrics.latency.labels(method).observe(time.monotonic() - started)
        return dataclasses.replace(answer, headers={**answer.headers, WAIT_HEADER: f"{waited:.6f}"})

    async def _attempts(
        self, method: str, kind: CallKind, pair: str | None, attempt: Attempt, lookup: Lookup | None = None
    ) -> GatewayAnswer:
        last: ExchangeReply | None = None
        uncertain = False  # an earlier request may have acted
        for number in range(1, self.retry.max_attempts + 1):
            try:
                if self.breaker.state is not BreakerState.CLOSED:
                    self._admit(number)
                reply = await attempt(number)
            except _Refused as refused:
                # A resend refused by the breaker: the last real answer says more than "circuit open".
                return answer_for(last, number - 1) if last is not None else refused.answer
            except AuthUnavailable as exc:
                if self._on_auth_failure is not None:
                    self._on_auth_failure(str(exc))
                if number < self.retry.max_attempts:  # nothing was sent: waiting is all it takes
                    self.metrics.retries.labels(method, "auth_unavailable").inc()
                    await self._sleep(self._backoff(number))
                    continue
                text = f"EGateway:Auth unavailable:{exc}"
                return gateway_error(503, text, CallOutcome.AUTH_UNAVAILABLE, number)
            self._observe(method, pair, reply)
            last = reply
            delivery = delivery_of(reply)
            self.metrics.requests.labels(method, delivery.value).inc()
            decision = decide_retry(kind, delivery, number, self.retry)
            if lookup is not None and (
                (decision.retry and delivery is Delivery.UNCERTAIN)
                or (uncertain and is_duplicate(reply.errors))
            ):
                try:
                    found = await lookup()
                except _LookupFailed as exc:
                    log.warning("%s not resent: its outcome is unknown and %s", method, exc)
                    return answer_for(reply, number)
                if found is not None:
                    return dataclasses.replace(found, attempts=number)
            uncertain = uncertain or delivery is Delivery.UNCERTAIN
            if not decision.retry:
                return answer_for(reply, number)
            log.info(
                "resending %s (attempt %d): %s",
                method,
                number + 1,
                decision.reason,
                extra={"method": method, "errors": list(reply.errors), "detail": reply.detail},
            )
            self.metrics.retries.labels(method, decision.reason).inc()
            await self._sleep(decision.delay)
        assert last is not None
        return answer_for(last, self.retry.max_attempts)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, base=self.retry.backoff_base, cap=self.retry.backoff_max)

    def _observe(self, method: str, pair: str | None, reply: ExchangeReply) -> None:
        """Tell the breaker and the governor what one request came to."""
        self.breaker.record_call(
            errors=reply.errors,
            http_status=reply.http_status,
            timed_out=reply.no_answer,
            duration=reply.duration,
        )
        errors = list(reply.errors)
        if reply.http_status == 429:
            errors.append("EAPI:Rate limit exceeded")
        if not self._adaptive():
            # Without adaptive mode a rate-limit answer only pauses REST calls for a second.
            if any(parse_error(error).kind in _RATE_KINDS for error in errors):
                self.governor.on_throttled(None)
            errors = [error for error in errors if parse_error(error).kind not in _RATE_KINDS]
        if errors:
            self.governor.observe_errors(errors, pair, method=method)
