"""Benchmark: the gateway's rate governor against ccxt's Kraken client, side by side in one run, each client on
its own exchange simulator (127.0.0.1; Kraken's REST counter and per-pair trading counter, nonce window 0).

Every configuration runs for the same `--duration` window (600 s or more for published figures: a short
window mostly measures the starting burst), all at once, each client in its own OS processes:
  tiers   - per tier, one process with `--clients` concurrent callers of `Balance` (1 point): through the
            gateway, or on one `ccxt.async_support.kraken` with `enableRateLimit` and the `rateLimit` a
            careful user sets for the tier (`ccxt_rate_limit_ms`). Reported apart: the burst (the first
            `counter max` calls, until the counter is full) and the sustained rate after it.
  shared  - three processes sharing one API key: three callers through one gateway, against three ccxt
            processes each paced for the whole tier (each believes it owns the key), and three paced for a
            third of it each (the budget split by hand). Rate-limit errors and `EAPI:Invalid nonce` are
            counted by the simulator.
  orders  - AddOrder + CancelOrder cycles against the pair's trading counter (order-age penalties): the
            gateway runs `bench.trading`'s loop; ccxt the same cycle (ccxt charges these calls 0).

usage: python -m bench.gateway_rate [--duration 600] [--tiers starter intermediate pro] [--clients 8]
           [--shared-tier intermediate] [--order-tier pro] [--order-loops 4] [--backoff 5] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt

from bench.common import ROOT, LoadMonitor, commit, machine, write_section
from bench.gateway_rate_report import Measured, report
from tests.integration.components.connectivity.stack import start_stack
from tests.integration.components.process import ComponentRunner
from tests.support.sim import SimHandle, start_sim
from tradingbot_components.exchange_sim import rate_limits as judge
from tradingbot_components.kraken.limits import REST_LIMITS, Tier

LEAD = 30.0  # seconds from launching the caller processes to the window opening (imports, connections)
SHARED_PROCESSES = 3


def ccxt_cost(method: str) -> float:
    """What ccxt's Kraken client charges its own limiter for a private call, in `rateLimit` units."""
    return float(ccxt.kraken().describe()["api"]["private"]["post"][method]["cost"])


def ccxt_rate_limit_ms(tier: Tier, share: int = 1) -> float:
    """The `rateLimit` that paces `Balance` at the tier's REST decay, for a process owning 1/`share` of it.

    ccxt's `rateLimit` is milliseconds per unit of cost and it charges `Balance` 3 units, so one `Balance`
    every 1/decay s (starter 3030 ms, intermediate 2000 ms, pro 1000 ms) is `rateLimit` = that / 3.
    """
    seconds_per_call = share / REST_LIMITS[tier].decay_per_second
    return 1000.0 * seconds_per_call / ccxt_cost("Balance")


@dataclass
class Plan:
    """One client configuration: its processes and the simulator that judges it."""

    part: str  # tiers | shared | orders
    tier: Tier
    client: str
    setting: str
    exchange: SimHandle
    commands: list[list[str]]
    outputs: list[Path] = field(default_factory=list)


def caller(via: str, url: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "bench.gateway_rate_callers", "--via", via, "--url", url, *options]


def plan_all(args: argparse.Namespace, workdir: Path, cleanup: contextlib.ExitStack) -> list[Plan]:
    """Start the exchanges (and gateway stacks) every configuration needs; the caller commands to run."""
    runner = ComponentRunner(workdir)
    cleanup.callback(runner.cleanup)
    dirs = iter(range(1000))

    def fresh() -> Path:
        path = workdir / f"x{next(dirs)}"
        path.mkdir()
        return path

    def gateway(tier: Tier) -> tuple[str, SimHandle]:
        stack = start_stack(runner, fresh(), tier=tier.value)
        cleanup.callback(stack.sim.stop)
        return stack.gateway.url(""), stack.sim

    def sim(tier: Tier) -> SimHandle:
        handle = start_sim(fresh(), tier=tier.value)
        cleanup.callback(handle.stop)
        return handle

    backoff = ("--backoff", str(args.backoff))
    plans: list[Plan] = []
    for tier in map(Tier, args.tiers):
        many = ("--callers", str(args.clients))
        url, judge = gateway(tier)
        plans.append(Plan("tiers", tier, "gateway", "defaults", judge, [caller("gateway", url, *many)]))
        limit = ccxt_rate_limit_ms(tier)
        baseline = sim(tier)
        paced = ("--rate-limit-ms", f"{limit:.3f}", *backoff)
        setting = f"rateLimit={limit:.1f} ms"
        plans.append(
            Plan("tiers", tier, "ccxt", setting, baseline, [caller("ccxt", baseline.url_rest, *many, *paced)])
        )
    if args.shared_tier:
        tier = Tier(args.shared_tier)
        url, judge = gateway(tier)
        command = caller("gateway", url)
        plans.append(Plan("shared", tier, "gateway", "one gateway", judge, [command] * SHARED_PROCESSES))
        for share, setting in (
            (1, "each paced for the whole tier"),
            (SHARED_PROCESSES, "each paced for a third"),
        ):
            limit = ccxt_rate_limit_ms(tier, share)
            baseline = sim(tier)
            command = caller("ccxt", baseline.url_rest, "--rate-limit-ms", f"{limit:.3f}", *backoff)
            text = f"{setting}: rateLimit={limit:.1f} ms"
            plans.append(Plan("shared", tier, "ccxt", text, baseline, [command] * SHARED_PROCESSES))
    if args.order_tier:
        tier = Tier(args.order_tier)
        loops = ("--calls", "orders", "--callers", str(args.order_loops))
        url, judge = gateway(tier)
        price = resting_price(judge)
        plans.append(
            Plan(
                "orders",
                tier,
                "gateway",
                "defaults",
                judge,
                [caller("gateway", url, *loops, "--price", price)],
            )
        )
        baseline = sim(tier)
        command = caller("ccxt", baseline.url_rest, *loops, "--price", resting_price(baseline), *backoff)
        text = "default rateLimit (AddOrder and CancelOrder cost 0 in ccxt)"
        plans.append(Plan("orders", tier, "ccxt", text, baseline, [command]))
    return plans


def resting_price(sim: SimHandle) -> str:
    """Half the simulator's fair price, on the pair's 0.1 tick: a buy that rests."""
    fair = Decimal(str(sim.market()["XBT/USD"]["fair"]))
    return str((fair / 2).quantize(Decimal("0.1")))


def measure(
    plans: list[Plan], duration: float, workdir: Path, cleanup: contextlib.ExitStack
) -> list[Measured]:
    """Launch every caller process with one window opening LEAD s from now; wait; read what each got."""
    start = time.time() + LEAD
    window = ("--start", f"{start:.3f}", "--duration", str(duration))
    running: list[tuple[Plan, subprocess.Popen[bytes], Path, Path]] = []
    for index, plan in enumerate(plans):
        env = {
            **os.environ,
            "BENCH_KRAKEN_KEY": plan.exchange.api_key,
            "BENCH_KRAKEN_SECRET": plan.exchange.api_secret,
        }
        for number, command in enumerate(plan.commands):
            out, err = workdir / f"callers-{index}-{number}.json", workdir / f"callers-{index}-{number}.err"
            with out.open("wb") as stdout, err.open("wb") as stderr:
                process = subprocess.Popen(
                    [*command, *window], stdout=stdout, stderr=stderr, env=env, cwd=ROOT
                )
            cleanup.callback(process.kill)
            running.append((plan, process, out, err))
    outputs: dict[int, list[dict[str, Any]]] = {id(plan): [] for plan in plans}
    for plan, process, out, err in running:
        code = process.wait(timeout=max(0.0, start + duration - time.time()) + 180)
        if code != 0:
            raise RuntimeError(f"{plan.part} {plan.client} caller failed ({code}): {err.read_text()[-2000:]}")
        outputs[id(plan)].append(json.loads(out.read_text()))
    judged = []
    for plan in plans:
        points = (
            exchange_points(plan.exchange.private, start, start + duration) if plan.part == "orders" else None
        )
        stats = plan.exchange.stats()
        judged.append(
            Measured(
                plan.part, plan.tier, plan.client, plan.setting, duration, outputs[id(plan)], stats, points
            )
        )
    return judged


def exchange_points(private: Callable[..., Any], start: float, end: float) -> int:
    """Trading-counter points the orders of the window cost at the exchange (by the simulator's own model of
    Kraken's rules): 1 per AddOrder, and per CancelOrder the penalty for the order's age when it was cancelled
    (`closetm - opentm`, as Kraken counts).
    `private(method, params)` makes a private call and returns Kraken's answer (`{"error", "result"}`)."""
    points, offset = 0, 0
    while True:
        reply = private("ClosedOrders", {"ofs": offset})
        if reply["error"]:  # the REST counter (ClosedOrders costs 2): wait for it to drain
            time.sleep(3)
            continue
        page = reply["result"]["closed"]
        for order in page.values():
            opened, closed = Decimal(str(order["opentm"])), Decimal(str(order["closetm"]))
            if start <= opened <= end:
                points += judge.trading_cost(judge.OrderAction.ADD)
            if order["status"] == "canceled" and start <= closed <= end:
                points += judge.trading_cost(judge.OrderAction.CANCEL, float(closed - opened))
        offset += len(page)
        if not page or offset >= int(reply["result"]["count"]):
            break
    for order in private("OpenOrders", {})["result"]["open"].values():
        if start <= Decimal(str(order["opentm"])) <= end:
            points += judge.trading_cost(judge.OrderAction.ADD)
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    tiers = [t.value for t in Tier]
    parser.add_argument(
        "--duration", type=float, default=600.0, help="seconds per configuration (all at once)"
    )
    parser.add_argument("--tiers", nargs="*", default=tiers, choices=tiers)
    parser.add_argument("--clients", type=int, default=8, help="concurrent callers in the one-process runs")
    parser.add_argument("--shared-tier", default="intermediate", choices=[*tiers, ""], help="'' to skip")
    parser.add_argument("--order-tier", default="pro", choices=[*tiers, ""], help="'' to skip")
    parser.add_argument("--order-loops", type=int, default=4)
    parser.add_argument("--backoff", type=float, default=5.0, help="ccxt: pause after a rate-limit error")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave the docs alone")
    args = parser.parse_args(argv)
    measured_commit = commit("bench", "components")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp, contextlib.ExitStack() as cleanup:
        workdir = Path(tmp)
        plans = plan_all(args, workdir, cleanup)
        print(
            f"{len(plans)} configurations, {args.duration:.0f} s window from now + {LEAD:.0f} s",
            file=sys.stderr,
        )
        with LoadMonitor() as load:
            results = measure(plans, args.duration, workdir, cleanup)
    for result in results:
        print(result.summary(), file=sys.stderr)
    text = report(
        results,
        machine=machine(),
        commit=measured_commit,
        load=load.reading(),
        clients=args.clients,
        backoff=args.backoff,
    )
    print(text)
    if not args.no_write:
        write_section("gateway-rate", text)
    gateway_errors = sum(
        r.rate_limited + r.trading_rate_limited + r.invalid_nonces for r in results if r.client == "gateway"
    )
    return 0 if gateway_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
