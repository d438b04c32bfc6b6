"""A bot's exchange path as real processes: exchange simulator, storage, auth and gateway on 127.0.0.1.

`start_stack(components, tmp_path)` starts them in phase order, each with its own config file (ports are
picked by the OS, so a later component's config names the earlier ones' ports).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner, Reply, request
from tests.support.sim import SimHandle, start_sim


@dataclass
class Stack:
    sim: SimHandle
    storage: ComponentProcess
    auth: ComponentProcess
    gateway: ComponentProcess
    components: ComponentRunner
    workdir: Path
    env: dict[str, str]

    @property
    def credentials(self) -> Path:
        return self.workdir / "credentials"

    def auth_config(self) -> Path:
        return self.workdir / "auth.json"

    def start_auth(self) -> ComponentProcess:
        """Another auth process with the same key, config and runtime dir (not waited for)."""
        return self.components.start(
            "auth", "--config", str(self.auth_config()), "--credentials", str(self.credentials), env=self.env
        )

    def private(self, method: str, params: Mapping[str, Any] | None = None, query: str = "") -> Reply:
        url = self.gateway.url(f"/private/{method}") + (f"?{query}" if query else "")
        return request(url, "POST", dict(params or {}), timeout=60)

    def public(self, method: str, **params: str) -> Reply:
        query = urllib.parse.urlencode(params)
        return request(self.gateway.url(f"/public/{method}") + (f"?{query}" if query else ""), timeout=60)

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample of the gateway's /metrics (None when absent)."""
        text = self.gateway.get("/metrics").body
        assert isinstance(text, str)
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            match = re.fullmatch(r"([a-zA-Z_:]+)(?:\{(.*)\})? (\S+)", line)
            if not match or match.group(1) != name:
                continue
            found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if found == wanted:
                return float(match.group(3))
        return None


def write_config(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def start_stack(
    components: ComponentRunner,
    tmp_path: Path,
    *,
    tier: str = "pro",
    breaker: Mapping[str, Any] | None = None,
    gateway_env: Mapping[str, str] | None = None,
    sim_env: Mapping[str, str] | None = None,
) -> Stack:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    sim = start_sim(tmp_path, tier=tier, env=sim_env)
    try:
        credentials = workdir / "credentials"
        credentials.mkdir()
        (credentials / "api-key").write_text(sim.api_key + "\n")
        (credentials / "api-secret").write_text(sim.api_secret + "\n")
        env = {"TRADINGBOT_RUNTIME_DIR": str(workdir / "runtime")}
        base = {
            "rate_limiting": {"tier": tier},
            "circuit_breaker": dict(breaker or {"failure_threshold": 3, "recovery_timeout": 1.0}),
            "storage": {"sqlite_path": str(workdir / "storage.db")},
        }
        storage = components.start("storage", "--config", str(write_config(workdir / "storage.json", base)))
        storage.wait_ready()
        endpoints = {"exchange_rest": sim.url_rest, "storage": storage.url("")}
        write_config(workdir / "auth.json", {**base, "endpoints": endpoints})
        auth = components.start(
            "auth", "--config", str(workdir / "auth.json"), "--credentials", str(credentials), env=env
        )
        auth.wait_ready()
        gateway_config = write_config(
            workdir / "gateway.json", {**base, "endpoints": {**endpoints, "auth": auth.url("")}}
        )
        gateway = components.start("gateway", "--config", str(gateway_config), env=dict(gateway_env or {}))
        gateway.wait_ready()
    except BaseException:
        sim.stop()
        raise
    return Stack(sim, storage, auth, gateway, components, workdir, env)
