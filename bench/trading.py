"""Benchmarks of the trading path, on the whole bot as real processes against the simulator (pro tier).

tick to order - the trader runs `bench.strategies:Taker` (a small marketable order on every quote while
                nothing is open). For each order: from the trader reading the market-data `/stream` message
                that triggered the decision to the simulator's AddOrder acknowledgement reaching the trader,
                with the part the gateway spent waiting for rate capacity (`X-Gateway-Wait`) reported apart.
                Samples come from the trader's own log line per order (exact, not histogram buckets).
order rate    - `--loops` concurrent callers run AddOrder (a limit buy far below the market: it rests) +
                CancelOrder cycles through the gateway for `--duration` s. Each cycle costs the pair's
                trading counter 1 (add) + the cancel's penalty by the order's age when it reaches the
                exchange (8 under 5 s, 6 under 10 s, ...); the points are read back from the simulator's
                own record of the orders (open and close times). The counter admits at most
                `threshold + decay x duration` points in the window. Reported: points used as a share of
                that, and the `EOrder:Rate limit exceeded` answers the simulator counted (must be 0).

usage: python -m bench.trading [--decisions 300] [--duration 120] [--loops 4] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.common import commit, load_average, machine, write_section
from bench.gateway_rate import exchange_points
from tests.integration.components.bot.harness import start_bot
from tests.integration.components.connectivity.stack import start_stack
from tests.integration.components.process import ComponentRunner
from tests.support.waiting import wait_until
from tradingbot_components.kraken.limits import TRADING_LIMITS, Tier


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def tick_to_order(decisions: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-t2o-") as tmp:
        runner = ComponentRunner(Path(tmp))
        bot = None
        try:
            bot = start_bot(
                runner,
                Path(tmp),
                tier="pro",
                trader_args=("--strategy", "bench.strategies:Taker"),
            )
            assert bot.trader is not None
            trader = bot.trader

            def samples() -> list[dict[str, float]] | None:
                found = [e for e in trader.logs() if "tick_to_order" in e]
                return found if len(found) >= decisions else None

            entries = wait_until(
                samples, timeout=decisions * 2 + 120, interval=1.0, what=f"{decisions} orders"
            )
            rejections = bot.sim.stats()["trading_rate_limit_rejections"]
        finally:
            if bot is not None:
                bot.sim.stop()  # the simulator has a runner of its own
            runner.cleanup()
    entries = entries[:decisions]
    total = [float(e["tick_to_order"]) for e in entries]
    waits = [float(e["gateway_wait"]) for e in entries]
    own = [float(e["decision_to_ack"]) - float(e["gateway_wait"]) for e in entries]
    queued = [t - float(e["decision_to_ack"]) for t, e in zip(total, entries, strict=True)]
    return {
        "n": len(total),
        "total": total,
        "wait": waits,
        "own": own,
        "queued": queued,
        "rate_limited": rejections,
    }


async def _cycles(gateway: str, loops: int, duration: float, price: str) -> tuple[int, int]:
    deadline = time.monotonic() + duration
    done = failed = 0
    async with aiohttp.ClientSession() as session:

        async def loop(index: int) -> None:
            nonlocal done, failed
            serial = 0
            while time.monotonic() < deadline:
                serial += 1
                cl_ord_id = f"b{index}x{serial}"
                body = {
                    "pair": "XBTUSD",
                    "type": "buy",
                    "ordertype": "limit",
                    "price": price,
                    "volume": "0.001",
                    "cl_ord_id": cl_ord_id,
                }
                async with session.post(f"{gateway}/private/AddOrder?pair=XBTUSD", json=body) as r:
                    added = await r.json()
                placed_at = time.monotonic()
                if added["error"]:
                    failed += 1
                    continue
                if time.monotonic() >= deadline:
                    return
                age = time.monotonic() - placed_at
                cancel = {"cl_ord_id": cl_ord_id}
                async with session.post(
                    f"{gateway}/private/CancelOrder?pair=XBTUSD&order_age={age:.3f}", json=cancel
                ) as r:
                    cancelled = await r.json()
                if cancelled["error"]:
                    failed += 1
                elif time.monotonic() <= deadline:
                    done += 1

        await asyncio.gather(*(loop(i) for i in range(loops)))
    return done, failed


def order_rate(duration: float, loops: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-rate-") as tmp:
        runner = ComponentRunner(Path(tmp))
        stack = None
        try:
            stack = start_stack(runner, Path(tmp), tier="pro")
            fair = float(stack.sim.market()["XBT/USD"]["fair"])
            price = f"{fair * 0.5:.1f}"
            started, window_start = time.monotonic(), time.time()
            done, failed = asyncio.run(_cycles(stack.gateway.url(""), loops, duration, price))
            elapsed = time.monotonic() - started
            stats = stack.sim.stats()
            # What the exchange charged, from its own record of the orders (through the gateway: signing here
            # with the key would mix nonces with auth's).
            used = exchange_points(
                lambda method, params: stack.private(method, params).json,
                window_start,
                window_start + duration,
            )
        finally:
            if stack is not None:
                stack.sim.stop()
            runner.cleanup()
    limits = TRADING_LIMITS[Tier.PRO]
    capacity = limits.max + limits.decay_per_second * duration
    return {
        "cycles": done,
        "failed": failed,
        "elapsed": elapsed,
        "points": used,
        "capacity": capacity,
        "share": used / capacity,
        "sustained_share": (used - limits.max) / (limits.decay_per_second * duration),
        "rate_limited": stats["trading_rate_limit_rejections"],
        "threshold": limits.max,
        "decay": limits.decay_per_second,
    }


def report(t2o: dict[str, object], rate: dict[str, object], duration: float, loops: int) -> str:
    def ms(values: object, q: float) -> str:
        return f"{percentile(values, q) * 1000:.1f}"  # type: ignore[arg-type]

    rows = "\n".join(
        f"| {label} | {ms(t2o[key], 0.5)} | {ms(t2o[key], 0.95)} | {ms(t2o[key], 0.99)} | {ms(t2o[key], 1.0)} |"
        for label, key in (
            ("tick to order (total)", "total"),
            ("of which: quote waiting for the pair's previous order", "queued"),
            ("of which: gateway rate wait", "wait"),
            ("of which: decision to ack, less the rate wait", "own"),
        )
    )
    return f"""## Trading path: tick to order, and the order rate against Kraken's trading counter

Whole bot as real processes on 127.0.0.1 against the simulator (pro tier), commit `{commit("components", "bench/trading.py", "bench/strategies.py")}`, {machine()},
load average {load_average()} at the end (the machine was shared with other work: latencies include that).

**Tick to order** ({t2o["n"]} orders by `bench.strategies:Taker`, one small marketable order per decision): from
the trader reading the market-data `/stream` message that triggered the decision to the AddOrder
acknowledgement (the order recorded in storage first, then sent through the gateway, signed by auth). The
gateway's wait for trading-counter capacity is reported apart: the first ~180 orders fit the pro tier's
threshold, later ones are paced at its decay of 3.75/s, which is the exchange's rule, not our latency. A
quote that arrives while the pair's previous order is still in flight waits for it (the trader makes one
decision per pair at a time, so a burst of updates can never place two orders); that wait is shown apart too.
"Decision to ack" covers the balance check (GET from balance-manager), the durable `pending` record in
storage (SQLite, `synchronous=FULL`), signing by auth and the simulator's answer.

| ms | p50 | p95 | p99 | max |
|---|---|---|---|---|
{rows}

`EOrder:Rate limit exceeded` answers during the run: {t2o["rate_limited"]}.

**Order rate** ({loops} concurrent callers, {duration:.0f} s, AddOrder + CancelOrder of a resting order; the exchange
charges 1 per add and 8, 6, 5... per cancel by the order's age on arrival): {rate["cycles"]} cycles =
{rate["points"]} points charged by the exchange ({rate["points"] / max(rate["cycles"], 1):.2f} per cycle) of a possible {rate["capacity"]:.0f}
(threshold {rate["threshold"]:.0f} + {rate["decay"]}/s x {duration:.0f} s) → **{rate["share"]:.1%}** of the counter's limit
({rate["sustained_share"]:.1%} of the decay after the initial threshold), with **{rate["rate_limited"]}**
`EOrder:Rate limit exceeded` answers and {rate["failed"]} failed calls.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    print(f"tick to order: {args.decisions} orders...", flush=True)
    t2o = tick_to_order(args.decisions)
    print(f"  p50 {statistics.median(t2o['total']) * 1000:.1f} ms", flush=True)  # type: ignore[arg-type]
    print(f"order rate: {args.duration:.0f} s with {args.loops} callers...", flush=True)
    rate = order_rate(args.duration, args.loops)
    print(f"  {rate['share']:.1%} of the counter, {rate['rate_limited']} rate-limit errors", flush=True)
    text = report(t2o, rate, args.duration, args.loops)
    print(text)
    if not args.no_write:
        write_section("trading", text)
    ok = rate["rate_limited"] == 0 and t2o["rate_limited"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
