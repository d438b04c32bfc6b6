"""A tiny component process for the SIGTERM test: start a phased sequence, print `ready`, and on
SIGTERM print the order in which the steps were stopped, then exit 0 when the stop was clean."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from tradingbot_components.runtime import Phase, StartupSequence, run_until_signal

STEPS = [
    ("storage", Phase.INFRASTRUCTURE),
    ("auth", Phase.AUTH),
    ("gateway", Phase.NETWORK),
    ("market-data", Phase.NETWORK),
    ("trader", Phase.SERVICES),
]


async def main() -> int:
    sequence = StartupSequence(backoff_base=0.01)
    stopped: list[str] = []

    def stopper(name: str) -> Callable[[], Awaitable[None]]:
        async def stop() -> None:
            stopped.append(name)

        return stop

    async def nothing() -> None:
        await asyncio.sleep(0)

    for name, phase in STEPS:
        depends = ("gateway",) if name == "market-data" else ()
        sequence.register_step(name, phase, nothing, dependencies=depends, shutdown=stopper(name))

    report = await run_until_signal(sequence, grace_period=5.0, on_started=lambda: print("ready", flush=True))
    print("stopped: " + ",".join(stopped), flush=True)
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
