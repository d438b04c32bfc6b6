"""Which config generation each local component runs, and whether a spec would be accepted.

In the cluster a pod reports the generation it applied on its own annotation. A local child has no pod to
annotate, so the runner asks it: a child runs generation G once its `/config` shows exactly the document of
G as that child sees it (its own environment overrides on top, secrets redacted). Built-in components serve
`/config`; a custom one that does not is simply not reporting, as in the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import ValidationError

from tradingbot_components.config import BotConfig
from tradingbot_components.config.changes import redacted
from tradingbot_components.config.env import read_overrides
from tradingbot_operator.local.document import LOCAL_IMAGE, local_path
from tradingbot_operator.planner.bot import CheckedSpec, check_spec

if TYPE_CHECKING:
    from tradingbot_operator.local.runner import LocalRunner

INTERVAL = 0.5


def expected_export(document: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any] | None:
    """What a child with `environ` shows on `/config` once it runs `document`; None if it cannot run it."""
    try:
        shown: dict[str, Any] = redacted(BotConfig.model_validate(read_overrides(environ).apply(document)))
        return shown
    except ValidationError:
        return None


def invalid(spec: Mapping[str, Any]) -> str | None:
    """Why the planner would reject `spec` (field paths as in a local file), or None."""
    checked = check_spec(spec, LOCAL_IMAGE)
    if isinstance(checked, CheckedSpec):
        return None
    return "; ".join(f"{local_path(p.path, manifest=False)}: {p.message}" for p in checked)


async def track(runner: LocalRunner, session: aiohttp.ClientSession) -> None:
    """Keep every ready child's `config_generation` up to date (wakes the runner when one moves)."""
    cache: dict[tuple[int, int], dict[str, Any] | None] = {}
    while True:
        await asyncio.sleep(INTERVAL)
        generation, document = runner.config_generation, runner.document
        if not document:
            continue
        for workload in list(runner.workloads.values()):
            for pod in workload.current():
                if not pod.ready or pod.config_generation == generation:
                    continue
                key = (id(pod.spec.env), generation)
                if key not in cache:
                    cache[key] = expected_export(document, pod.spec.env)
                shown = await _config_of(session, pod.url)
                if shown is not None and shown == cache[key]:
                    pod.config_generation = generation
                    runner.wake()
        if len(cache) > 256:
            cache.clear()


async def _config_of(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
        async with session.get(f"{url}/config", timeout=aiohttp.ClientTimeout(total=2)) as response:
            if response.status == 200:
                body = await response.json()
                config = body.get("config") if isinstance(body, dict) else None
                return config if isinstance(config, dict) else None
    return None
