"""The client side of the gateway-rate benchmark: one OS process per API user, calling Kraken's `Balance` (or
placing and cancelling orders) through the gateway or through ccxt from a shared start time for a window.

Processes, not tasks, because the claim under test is about processes: programs sharing one API key each
keep their own nonce and rate limiter (ccxt), or all go through one gateway. Each prints one JSON document.

usage: python -m bench.gateway_rate_callers --via {gateway,ccxt} --calls {balance,orders} --url URL
           --start UNIX_TIME --duration S [--callers N] [--rate-limit-ms MS] [--backoff S] [--price P]
       (ccxt reads the key and secret from BENCH_KRAKEN_KEY and BENCH_KRAKEN_SECRET)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async

Call = Callable[[], Awaitable[str | None]]  # None: success; else the failure's kind


class Window:
    """The measured interval on the wall clock, shared by every process of one run."""

    def __init__(self, start: float, duration: float) -> None:
        self.start, self.end = start, start + duration

    def elapsed(self) -> float:
        return time.time() - self.start

    def open(self) -> bool:
        return time.time() < self.end


async def call_loops(call: Call, callers: int, window: Window) -> dict[str, Any]:
    """`callers` loops calling `call` back to back; the answer times of the successes inside the window."""
    ok_at: list[float] = []
    failures: Counter[str] = Counter()

    async def loop() -> None:
        while window.open():
            outcome = await call()
            if not window.open():
                return  # answered after the window: not counted
            if outcome is None:
                ok_at.append(window.elapsed())
            else:
                failures[outcome] += 1

    tasks = [asyncio.create_task(loop()) for _ in range(callers)]
    await asyncio.sleep(max(0.0, window.end - time.time()))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"ok_at": sorted(ok_at), "failures": dict(failures)}


async def gateway_balance(url: str, callers: int, window: Window) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:

        async def call() -> str | None:
            async with session.post(f"{url}/private/Balance", json={}) as response:
                body = await response.json(content_type=None)
            errors = body.get("error") if isinstance(body, dict) else ["no envelope"]
            return None if response.status == 200 and not errors else f"{response.status} {errors}"

        return await call_loops(call, callers, window)


def ccxt_failure(exc: Exception) -> str:
    """The Kraken error behind a ccxt exception where ccxt kept it in the message, else the exception type."""
    text = str(exc)
    for error in (
        "EAPI:Rate limit exceeded",
        "EOrder:Rate limit exceeded",
        "EAPI:Invalid nonce",
        "EGeneral:Temporary lockout",
    ):
        if error in text:
            return error
    return type(exc).__name__


class CcxtUser:
    """One `ccxt.async_support.kraken` as a careful user runs it: `enableRateLimit` with a `rateLimit` for the
    tier, and after a rate-limit error every caller of the process pauses `backoff` seconds (ccxt itself does
    not retry or back off; Kraken keeps a client that keeps calling blocked)."""

    def __init__(self, url: str, rate_limit_ms: float | None, backoff: float) -> None:
        options: dict[str, Any] = {
            "apiKey": os.environ["BENCH_KRAKEN_KEY"],
            "secret": os.environ["BENCH_KRAKEN_SECRET"],
            "enableRateLimit": True,
        }
        if rate_limit_ms is not None:
            options["rateLimit"] = rate_limit_ms
        self.exchange = ccxt_async.kraken(options)
        self.exchange.urls["api"]["public"] = url
        self.exchange.urls["api"]["private"] = url
        self.backoff = backoff
        self.resume_at = 0.0

    async def send(self, request: Callable[[], Awaitable[object]]) -> str | None:
        pause = self.resume_at - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        try:
            await request()
        except ccxt_async.BaseError as exc:
            failure = ccxt_failure(exc)
            if isinstance(exc, ccxt_async.DDoSProtection | ccxt_async.RateLimitExceeded):
                self.resume_at = max(self.resume_at, time.monotonic() + self.backoff)
            return failure
        return None


async def ccxt_balance(user: CcxtUser, callers: int, window: Window) -> dict[str, Any]:
    try:
        return await call_loops(lambda: user.send(user.exchange.private_post_balance), callers, window)
    finally:
        await user.exchange.close()


async def ccxt_orders(user: CcxtUser, loops: int, window: Window, price: str) -> dict[str, Any]:
    """The same cycle as `bench.trading` runs through the gateway, sent by ccxt: AddOrder of a resting limit
    buy, then CancelOrder by `cl_ord_id`; a call refused for the rate is sent again after the back-off."""
    done = 0
    failures: Counter[str] = Counter()

    async def until_sent(request: Callable[[], Awaitable[object]]) -> bool:
        while window.open():
            failure = await user.send(request)
            if failure is None:
                return True
            failures[failure] += 1
            if "Rate limit" not in failure and "Invalid nonce" not in failure:
                return False
        return False

    async def loop(index: int) -> None:
        nonlocal done
        serial = 0
        while window.open():
            serial += 1
            cl_ord_id = f"c{index}x{serial}"
            order = {
                "pair": "XBTUSD",
                "type": "buy",
                "ordertype": "limit",
                "price": price,
                "volume": "0.001",
                "cl_ord_id": cl_ord_id,
            }
            if not await until_sent(partial(user.exchange.private_post_addorder, order)):
                await asyncio.sleep(1.0)  # refused for another reason: do not spin on it
                continue
            cancel = partial(user.exchange.private_post_cancelorder, {"cl_ord_id": cl_ord_id})
            if await until_sent(cancel) and window.open():
                done += 1

    try:
        await asyncio.gather(*(loop(i) for i in range(loops)))
    finally:
        await user.exchange.close()
    return {"cycles": done, "failures": dict(failures)}


async def gateway_orders(url: str, loops: int, window: Window, price: str) -> dict[str, Any]:
    from bench.trading import _cycles  # the order-rate loop `bench.trading` measures: one definition of it

    done, failed = await _cycles(url, loops, window.end - time.time(), price)
    return {"cycles": done, "failures": {"failed calls": failed} if failed else {}}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    window = Window(args.start, args.duration)
    late = time.time() - args.start
    if late < 0:
        await asyncio.sleep(-late)
    if args.via == "gateway":
        if args.calls == "balance":
            result = await gateway_balance(args.url, args.callers, window)
        else:
            result = await gateway_orders(args.url, args.callers, window, args.price)
    else:
        user = CcxtUser(args.url, args.rate_limit_ms, args.backoff)
        if args.calls == "balance":
            result = await ccxt_balance(user, args.callers, window)
        else:
            result = await ccxt_orders(user, args.callers, window, args.price)
    return {**result, "started_late": max(0.0, late)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--via", choices=["gateway", "ccxt"], required=True)
    parser.add_argument("--calls", choices=["balance", "orders"], default="balance")
    parser.add_argument("--url", required=True, help="the gateway's base URL, or Kraken's (the simulator's)")
    parser.add_argument("--start", type=float, required=True, help="Unix time the window opens")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--callers", type=int, default=1, help="concurrent loops in this process")
    parser.add_argument("--rate-limit-ms", type=float, default=None, help="ccxt's rateLimit")
    parser.add_argument(
        "--backoff", type=float, default=5.0, help="ccxt: seconds to pause after a rate limit"
    )
    parser.add_argument("--price", default="1000.0", help="limit price of the resting buy (orders)")
    args = parser.parse_args(argv)
    Decimal(args.price)  # an amount: refuse what Decimal cannot read
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
