"""Shared benchmark plumbing: the local cluster, process resource readings, audit counts, result sections.

Results go into docs/benchmarks.md between `<!-- bench:NAME -->` markers, so every benchmark owns one section
and a rerun replaces it.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import watch

from tests.support import cluster as local_cluster
from tests.support.operator import install_crd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ensure_cluster() -> local_cluster.LocalCluster:
    state = Path(os.environ.get("TRADINGBOT_CLUSTER_DIR", ROOT / ".cluster"))
    if local_cluster.is_running(state):
        return local_cluster.LocalCluster(state)
    return local_cluster.start(state)


def prepare(prefix: str) -> tuple[local_cluster.LocalCluster, str]:
    """The local cluster (started if needed) with the current CRD, and a fresh namespace for one benchmark."""
    cluster = ensure_cluster()
    install_crd(cluster)
    namespace = f"{prefix}-{int(time.time())}"
    cluster.create_namespace(namespace)  # kwok nodes: benchmarks measure the control plane at scale
    return cluster, namespace


@dataclass(frozen=True)
class ProcessSample:
    cpu_seconds: float
    rss_mib: float
    peak_rss_mib: float


def sample_process(pid: int) -> ProcessSample:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    return ProcessSample(cpu, rss, peak)


def audited_requests(
    audit_log: Path, user: str, since: datetime, until: datetime, namespace: str | None = None
) -> Counter[str]:
    """Requests `user` made in [since, until], by verb, from the apiserver's audit log (one per auditID); with
    `namespace`, only those for objects in it (or for it)."""
    seen: dict[str, str] = {}
    if not audit_log.exists():
        return Counter()
    with audit_log.open() as lines:
        for line in lines:
            if f'"{user}"' not in line:
                continue
            event = json.loads(line)
            if event.get("user", {}).get("username") != user:
                continue
            stamp = datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))
            if namespace is not None and _namespace_of(event.get("objectRef") or {}) != namespace:
                continue
            if since <= stamp <= until:
                seen[event["auditID"]] = event["verb"]
    return Counter(seen.values())


def _namespace_of(ref: dict[str, Any]) -> str | None:
    return ref.get("name") if ref.get("resource") == "namespaces" else ref.get("namespace")


def watch_into(
    sink: queue.Queue, stop: threading.Event, list_func: Callable[..., Any], *args: Any, **kwargs: Any
) -> None:
    """Put (time.time(), object) for every watch event of `list_func(*args)` into `sink` until `stop` is set.

    Meant to run in a thread; receive times are taken as events arrive, on the benchmark's own clock.
    """
    stream = watch.Watch()
    while not stop.is_set():
        for event in stream.stream(list_func, *args, timeout_seconds=5, **kwargs):
            sink.put((time.time(), event["object"]))
            if stop.is_set():
                stream.stop()
                break


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages now: how busy the 2-core machine was while it measured."""
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def kubernetes_version(cluster: local_cluster.LocalCluster) -> str:
    out = cluster.kubectl("version", "-o", "json").stdout
    return json.loads(out)["serverVersion"]["gitVersion"]


STAMP = re.compile(
    r"_Measured (?P<when>[^_]+?) by `make bench` \((?P<source>bench/\w+\.py)\) at commit (?P<commit>[^_]+)\._"
)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md, stamped with the time, the benchmark that
    wrote it (the calling module) and the commit of the code it measured (tests/unit/test_benchmarks_fresh.py
    fails when the benchmark changed after that commit, or the code had uncommitted changes)."""
    source = Path(sys._getframe(1).f_globals["__file__"]).resolve().relative_to(ROOT)
    measured = commit("bench", "components", "operator")
    stamp = (
        f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` ({source}) at commit {measured}._"
    )
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    stamped = f"{start}\n{body.rstrip()}\n\n{stamp}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: stamped, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + stamped + "\n"
    RESULTS.write_text(text)


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def commit(*measured: str) -> str:
    """HEAD's short hash, marked when the measured paths (default: everything) have uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        # Untracked files count too: a new module the measured code imports is as uncommitted as an edit.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *measured],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} + uncommitted changes to the measured code" if dirty else head


@dataclass(frozen=True)
class LoadReading:
    """The 1-minute load average as sampled over a run."""

    low: float
    mean: float
    high: float

    def __str__(self) -> str:
        return f"load average {self.mean:.1f} on average during the run ({self.low:.1f} to {self.high:.1f})"


class LoadMonitor:
    """Samples the 1-minute load average every `interval` s in a thread while the `with` block runs: a run of
    many minutes is judged by the load during it, not by `load_average()` at its end.

        with LoadMonitor() as load:
            ...
        print(load.reading())
    """

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="load-monitor", daemon=True)

    def _sample(self) -> None:
        while True:
            self._samples.append(os.getloadavg()[0])
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> LoadMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._samples.append(os.getloadavg()[0])

    def reading(self) -> LoadReading:
        samples = self._samples or [os.getloadavg()[0]]
        return LoadReading(min(samples), statistics.fmean(samples), max(samples))
