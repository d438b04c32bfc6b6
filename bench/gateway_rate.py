"""Benchmark: sustained private-call rate through the gateway vs the tier's theoretical maximum, with ccxt's
Kraken client as the baseline, side by side in the same run.

For each tier (starter, intermediate by default), two identical simulators (same tier, seed and balances;
Kraken's REST counter exactly: max, decay, `EAPI:Rate limit exceeded`) are started, then for `--duration`
seconds, at the same time:
  gateway - `--clients` concurrent callers POST /private/Balance through the real gateway (auth + storage
            behind it), against the first simulator;
  ccxt    - the same number of concurrent callers await `private_post_balance()` on one
            `ccxt.async_support.kraken` with `enableRateLimit=True`, its URLs pointed at the second one.
Balance costs 1 point, so at most `max + decay x duration` calls fit in the window (the theoretical
maximum). Reported: calls answered without error inside the window, calls/s, the ratio to the maximum, and
the `EAPI:Rate limit exceeded` answers as the simulator counted them (the gateway's must be zero).

usage: python -m bench.gateway_rate [--tiers starter intermediate] [--duration 60] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import ccxt.async_support as ccxt_async

from bench.common import machine, write_section
from tests.integration.components.connectivity.stack import start_stack
from tests.integration.components.process import ComponentRunner
from tests.support.sim import SimHandle, start_sim
from tradingbot_components.kraken.limits import REST_LIMITS, Tier


@dataclass(frozen=True)
class Run:
    client: str
    tier: Tier
    duration: float
    ok: int
    other: Counter[str]  # failures by kind, as the client saw them
    rate_limited: int  # EAPI:Rate limit exceeded, as the simulator counted them

    @property
    def rate(self) -> float:
        return self.ok / self.duration

    @property
    def theoretical(self) -> float:
        limits = REST_LIMITS[self.tier]
        return (limits.max + limits.decay_per_second * self.duration) / self.duration

    @property
    def ratio(self) -> float:
        return self.rate / self.theoretical

    @property
    def whole_calls(self) -> int:
        """The most calls that fit in the window (a call is whole: the max rate is not reachable exactly)."""
        return int(self.theoretical * self.duration + 1e-9)


Call = Callable[[], Awaitable[str | None]]  # None: success; else a failure kind


async def hammer(call: Call, clients: int, duration: float) -> tuple[int, Counter[str]]:
    """`clients` loops calling `call` back to back; counts what finished inside the window."""
    deadline = time.monotonic() + duration
    ok = 0
    failures: Counter[str] = Counter()

    async def loop() -> None:
        nonlocal ok
        while time.monotonic() < deadline:
            outcome = await call()
            if time.monotonic() > deadline:
                return  # answered after the window: not counted
            if outcome is None:
                ok += 1
            else:
                failures[outcome] += 1

    tasks = [asyncio.create_task(loop()) for _ in range(clients)]
    await asyncio.sleep(duration)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return ok, failures


async def through_gateway(url: str, clients: int, duration: float) -> tuple[int, Counter[str]]:
    timeout = aiohttp.ClientTimeout(total=duration + 30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def call() -> str | None:
            async with session.post(f"{url}/private/Balance", json={}) as response:
                body = await response.json(content_type=None)
            errors = body.get("error") if isinstance(body, dict) else ["no envelope"]
            return None if response.status == 200 and not errors else f"{response.status} {errors}"

        return await hammer(call, clients, duration)


async def through_ccxt(sim: SimHandle, clients: int, duration: float) -> tuple[int, Counter[str]]:
    exchange = ccxt_async.kraken({"apiKey": sim.api_key, "secret": sim.api_secret, "enableRateLimit": True})
    exchange.urls["api"]["public"] = sim.url_rest
    exchange.urls["api"]["private"] = sim.url_rest
    try:

        async def call() -> str | None:
            try:
                await exchange.private_post_balance()
            except ccxt_async.RateLimitExceeded:
                return "RateLimitExceeded"
            except ccxt_async.BaseError as exc:
                return type(exc).__name__
            return None

        return await hammer(call, clients, duration)
    finally:
        await exchange.close()


async def side_by_side(
    gateway_url: str, ccxt_sim: SimHandle, clients: int, duration: float
) -> tuple[tuple[int, Counter[str]], tuple[int, Counter[str]]]:
    gateway, baseline = await asyncio.gather(
        through_gateway(gateway_url, clients, duration), through_ccxt(ccxt_sim, clients, duration)
    )
    return gateway, baseline


def measure(tier: Tier, duration: float, clients: int) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        workdir = Path(tmp)
        runner = ComponentRunner(workdir)
        (workdir / "gateway").mkdir()
        stack = start_stack(runner, workdir / "gateway", tier=tier.value)
        baseline = start_sim(workdir / "ccxt", tier=tier.value)
        try:
            (gw_ok, gw_other), (cx_ok, cx_other) = asyncio.run(
                side_by_side(stack.gateway.url(""), baseline, clients, duration)
            )
            gw_limited = stack.sim.stats()["rate_limit_rejections"]
            cx_limited = baseline.stats()["rate_limit_rejections"]
        finally:
            baseline.stop()
            stack.sim.stop()
            runner.cleanup()
    return [
        Run("gateway", tier, duration, gw_ok, gw_other, gw_limited),
        Run("ccxt", tier, duration, cx_ok, cx_other, cx_limited),
    ]


def report(runs: list[Run], clients: int) -> str:
    duration = runs[0].duration
    lines = [
        "## Gateway: sustained private-call rate vs the tier's maximum",
        "",
        f"{machine()}. `Balance` (1 point on Kraken's REST counter) for {duration:.0f} s from {clients} "
        "concurrent callers, against the exchange simulator (Kraken's decaying counter, nonce window 0). "
        "*Theoretical maximum*: `(counter max + decay x duration) / duration`. *Rate-limit errors*: "
        "`EAPI:Rate limit exceeded` answers counted by the simulator. *ccxt*: `ccxt.async_support.kraken` "
        "4.5 with `enableRateLimit=True` on an identical simulator, at the same time. The gateway keeps "
        "0.1 point of the counter free (the exchange counts a call on arrival, the gateway on departure).",
        "",
        "| tier | client | calls OK | calls that fit | calls/s | theoretical max | ratio to max | "
        "rate-limit errors | other failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        other = ", ".join(f"{kind} x{n}" for kind, n in run.other.items()) or "none"
        lines.append(
            f"| {run.tier} | {run.client} | {run.ok} | {run.whole_calls} | {run.rate:.3f} | {run.theoretical:.3f} | "
            f"{run.ratio:.1%} | {run.rate_limited} | {other} |"
        )
    lines.append("")
    for tier in dict.fromkeys(run.tier for run in runs):
        gateway, baseline = (
            next(r for r in runs if r.tier is tier and r.client == c) for c in ("gateway", "ccxt")
        )
        factor = gateway.rate / baseline.rate if baseline.rate else float("inf")
        lines.append(f"- {tier}: the gateway sustains {factor:.2f}x ccxt's rate.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tiers", nargs="+", default=["starter", "intermediate"], choices=[t.value for t in Tier]
    )
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    runs: list[Run] = []
    for name in args.tiers:
        measured = measure(Tier(name), args.duration, args.clients)
        for run in measured:
            print(
                f"{run.tier} {run.client}: {run.ok} calls, {run.rate:.3f}/s = {run.ratio:.1%} of max, "
                f"{run.rate_limited} rate-limit errors, other {dict(run.other)}",
                file=sys.stderr,
            )
        runs += measured
    write_section("gateway-rate", report(runs, args.clients))
    gateway_limited = sum(run.rate_limited for run in runs if run.client == "gateway")
    return 0 if gateway_limited == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
