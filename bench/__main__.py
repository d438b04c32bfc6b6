"""`make bench`: run every benchmark in turn; each writes its own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys
import time

from bench.common import ROOT
from tests.support import cluster as local_cluster

# Module names under bench/, each with a main(argv) -> int.
BENCHMARKS = [
    "operator_startup",
    "health_latency",
    "config_reload",
    "book_throughput",
    "gateway_rate",
    "trading",
]


def main() -> int:
    selected = sys.argv[1:] or BENCHMARKS
    failed = []
    state = ROOT / ".cluster"
    was_up = local_cluster.is_running(state)
    try:
        for name in selected:
            started = time.monotonic()
            print(f"== bench {name}", flush=True)
            module = importlib.import_module(f"bench.{name}")
            if module.main([]) != 0:
                failed.append(name)
            print(f"== bench {name}: {time.monotonic() - started:.0f}s", flush=True)
    finally:
        if not was_up and local_cluster.is_running(state):
            local_cluster.stop(state)  # leave the machine as we found it
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
