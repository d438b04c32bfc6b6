"""What one gateway-rate configuration measured, the figures derived from it (burst, sustained, shares of the
tier's limits), and the docs/benchmarks.md section that presents them. Pure: no processes, no clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import LoadReading
from tradingbot_components.config.schema import RateLimitingConfig
from tradingbot_components.kraken.limits import REST_LIMITS, TRADING_LIMITS, Tier

OLD_WINDOW = 60.0  # what the earlier figures measured


@dataclass(frozen=True)
class Measured:
    part: str  # tiers | shared | orders
    tier: Tier
    client: str
    setting: str
    duration: float
    outputs: Sequence[dict[str, Any]]  # one per caller process
    sim: dict[str, Any]  # the judging simulator's /_sim/stats after the window
    points: int | None = None  # trading-counter points the window's orders cost at the exchange

    @property
    def ok_at(self) -> list[float]:
        return sorted(t for output in self.outputs for t in output.get("ok_at", []))

    @property
    def per_process(self) -> list[int]:
        return [len(output.get("ok_at", [])) for output in self.outputs]

    @property
    def cycles(self) -> int:
        return sum(int(output.get("cycles", 0)) for output in self.outputs)

    @property
    def failures(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for output in self.outputs:
            total.update(output.get("failures", {}))
        return total

    @property
    def rate_limited(self) -> int:
        return int(self.sim["rate_limit_rejections"])

    @property
    def trading_rate_limited(self) -> int:
        return int(self.sim["trading_rate_limit_rejections"])

    @property
    def invalid_nonces(self) -> int:
        return int(self.sim["nonce_rejections"])

    @property
    def started_late(self) -> float:
        return max(float(output.get("started_late", 0.0)) for output in self.outputs)

    def summary(self) -> str:
        done = f"{self.cycles} cycles" if self.part == "orders" else f"{len(self.ok_at)} calls"
        return (
            f"{self.part} {self.tier} {self.client} ({self.setting}): {done}, rate-limit errors "
            f"{self.rate_limited} REST / {self.trading_rate_limited} trading, invalid nonces {self.invalid_nonces}, "
            f"failures seen {dict(self.failures)}, started late {self.started_late:.2f} s"
        )


@dataclass(frozen=True)
class RateFigures:
    """Calls of one client on the REST counter: the burst until the counter is full, then the sustained rate."""

    calls: int
    duration: float
    burst_calls: int  # the counter's max in 1-point calls
    burst_seconds: float | None  # when the burst_calls-th call was answered
    sustained: float | None  # calls/s after it
    decay: float
    theoretical: float  # (max + decay x duration) / duration
    first_window: int  # calls answered in the first OLD_WINDOW s

    @property
    def overall(self) -> float:
        return self.calls / self.duration

    @property
    def whole_calls(self) -> int:
        return int(self.theoretical * self.duration + 1e-9)


def rate_figures(ok_at: Sequence[float], tier: Tier, duration: float) -> RateFigures:
    limits = REST_LIMITS[tier]
    burst = int(limits.max)
    burst_seconds = ok_at[burst - 1] if len(ok_at) >= burst else None
    sustained = None
    if burst_seconds is not None and duration > burst_seconds:
        sustained = (len(ok_at) - burst) / (duration - burst_seconds)
    theoretical = (limits.max + limits.decay_per_second * duration) / duration
    first = sum(1 for t in ok_at if t <= OLD_WINDOW)
    return RateFigures(
        len(ok_at), duration, burst, burst_seconds, sustained, limits.decay_per_second, theoretical, first
    )


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def _failures(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} x{n}" for kind, n in counts.most_common()) or "none"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def tiers_table(runs: Sequence[Measured]) -> list[str]:
    lines = [
        "| tier | client | setting | calls OK | first 60 s | first N calls took | sustained calls/s | "
        "decay | sustained / decay | calls/s overall | max calls/s | overall / max | rate-limit errors | "
        "other failures |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        f = rate_figures(run.ok_at, run.tier, run.duration)
        share = "n/a" if f.sustained is None else f"{f.sustained / f.decay:.1%}"
        lines.append(
            f"| {run.tier} | {run.client} | {run.setting} | {f.calls} of {f.whole_calls} | {f.first_window} | "
            f"N={f.burst_calls}: {_seconds(f.burst_seconds)} | {_rate(f.sustained)} | {f.decay:g} | {share} | "
            f"{f.overall:.3f} | {f.theoretical:.3f} | {f.overall / f.theoretical:.1%} | {run.rate_limited} | "
            f"{_failures(run.failures)} |"
        )
    lines.append("")
    for tier in dict.fromkeys(run.tier for run in runs):
        pair = {
            run.client: rate_figures(run.ok_at, run.tier, run.duration) for run in runs if run.tier is tier
        }
        gw, cx = pair.get("gateway"), pair.get("ccxt")
        if gw is None or cx is None:
            continue
        lines.append(
            f"- {tier}: gateway / ccxt over the window **{_ratio(gw.overall, cx.overall)}**; sustained "
            f"{_ratio(gw.sustained, cx.sustained)}; in the first 60 s {_ratio(gw.first_window, cx.first_window)} "
            f"(the burst: {gw.burst_calls} calls in {_seconds(gw.burst_seconds)} vs {_seconds(cx.burst_seconds)})."
        )
    return lines


def shared_table(runs: Sequence[Measured]) -> list[str]:
    lines = [
        "| client | setting | calls OK (per process) | calls/s | share of max | rate-limit errors | "
        "invalid nonces | failures the callers saw |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        f = rate_figures(run.ok_at, run.tier, run.duration)
        per = " + ".join(map(str, run.per_process))
        lines.append(
            f"| {run.client} | {run.setting} | {f.calls} ({per}) | {f.overall:.3f} | "
            f"{f.overall / f.theoretical:.1%} | {run.rate_limited} | {run.invalid_nonces} | "
            f"{_failures(run.failures)} |"
        )
    gateway = next((r for r in runs if r.client == "gateway"), None)
    if gateway is not None:
        lines.append("")
        for run in runs:
            if run is not gateway:
                lines.append(
                    f"- gateway / ccxt ({run.setting.split(':')[0]}): "
                    f"**{_ratio(len(gateway.ok_at), len(run.ok_at))}** the calls."
                )
    return lines


def orders_table(runs: Sequence[Measured]) -> list[str]:
    lines = [
        "| client | setting | cycles | cycles/s | points at the exchange | points / cycle | share of the "
        "counter's limit | `EOrder:Rate limit exceeded` | failures the callers saw |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        limits = TRADING_LIMITS[run.tier]
        capacity = limits.max + limits.decay_per_second * run.duration
        points = run.points or 0
        per_cycle = f"{points / run.cycles:.2f}" if run.cycles else "n/a"
        lines.append(
            f"| {run.client} | {run.setting} | {run.cycles} | {run.cycles / run.duration:.3f} | {points} of "
            f"{capacity:.0f} | {per_cycle} | {points / capacity:.1%} | {run.trading_rate_limited} | "
            f"{_failures(run.failures)} |"
        )
    gateway = next((r for r in runs if r.client == "gateway"), None)
    baseline = next((r for r in runs if r.client == "ccxt"), None)
    if gateway is not None and baseline is not None:
        lines += ["", f"- gateway / ccxt: **{_ratio(gateway.cycles, baseline.cycles)}** the cycles."]
    return lines


def report(
    results: Sequence[Measured], *, machine: str, commit: str, load: LoadReading, clients: int, backoff: float
) -> str:
    duration = results[0].duration
    tiers = [r for r in results if r.part == "tiers"]
    shared = [r for r in results if r.part == "shared"]
    orders = [r for r in results if r.part == "orders"]
    late = max(r.started_late for r in results)
    lines = [
        "## Gateway: private-call rate vs ccxt (burst, sustained, one key shared, the trading counter)",
        "",
        f"Commit `{commit}`, {machine}, {load}. Every configuration below ran in one {duration:.0f} s window, "
        f"all at the same time, each client on its own exchange simulator (127.0.0.1, Kraken's counters, nonce "
        f"window 0) and in its own processes (the last caller process started {late:.2f} s late). *ccxt*: "
        "`ccxt.async_support.kraken` 4.5.90 with `enableRateLimit=True`. ccxt's `rateLimit` is milliseconds "
        "per unit of its own cost and it charges `Balance` 3 units, so the careful setting that paces one "
        "`Balance` (1 point) per 1/decay s is `rateLimit` = 1000 / (3 x decay): starter 1010.1 ms (a call every "
        "3030 ms), intermediate 666.7 ms (2000 ms), pro 333.3 ms (1000 ms). After a rate-limit error a ccxt "
        f"process pauses all its callers {backoff:g} s (ccxt neither retries nor backs off by itself). "
        "*Rate-limit errors* and *invalid nonces* are the simulator's counts. The gateway keeps "
        f"{RateLimitingConfig().timing_margin:g} s of each counter's decay free (`rate_limiting.timing_margin`, "
        "its default).",
        "",
    ]
    if tiers:
        lines += [
            f"**One process per client** ({clients} concurrent callers of `Balance`). *First N calls took*: "
            "until the N-th call (N = the counter's max) was answered, the burst a fresh counter allows. "
            "*Sustained*: calls after those N, per second of the rest of the window; the tier's decay is its "
            "ceiling. *Max calls/s*: `(max + decay x duration) / duration`.",
            "",
            *tiers_table(tiers),
            "",
        ]
    if shared:
        tier = shared[0].tier
        lines += [
            f"**Three processes, one API key** ({tier} tier, one caller of `Balance` in each process): three "
            "client processes calling through one gateway (its one governor and one nonce sequence), against "
            "three ccxt processes with the key, each paced for the whole tier as it would be alone, and three "
            "paced for a third of the tier each (a user who splits the budget by hand).",
            "",
            *shared_table(shared),
            "",
        ]
    if orders:
        tier = orders[0].tier
        lines += [
            f"**Orders against the pair's trading counter** ({tier} tier, XBTUSD; one process per client, "
            "AddOrder of a resting limit buy then "
            "CancelOrder by `cl_ord_id`, loops as in `bench.trading`'s order rate, whose loop the gateway side "
            "runs). The counter admits `threshold + decay x duration` points in the window; *points at the "
            "exchange*: 1 per AddOrder plus, per CancelOrder, Kraken's penalty for the order's age when it was "
            "cancelled (8 under 5 s, 6 under 10 s, 5 under 15 s...), from the simulator's `opentm` and `closetm`. ccxt's own limiter charges AddOrder and "
            "CancelOrder 0, so it does not pace them: the ccxt loop sends a refused call again after its pause.",
            "",
            *orders_table(orders),
            "",
        ]
    lines.append(
        "Earlier figures in this section (60 s, 1.70x starter and 2.45x intermediate) measured mostly the "
        "starting burst (15 of the 34 calls that fit a starter minute) and left ccxt at its starter pacing "
        "(`rateLimit` 1000 ms, one `Balance` per 3 s) on the intermediate tier."
    )
    return "\n".join(lines)
