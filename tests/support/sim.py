"""The exchange simulator as a test peer: `start_sim(tmp_path, tier=..., pairs=...)` runs the real
`exchange-sim` component on a free 127.0.0.1 port and returns a `SimHandle` with its URLs, the account's
key and secret, signed/unsigned call helpers, fault controls, and `stop()`.

    sim = start_sim(tmp_path, tier="pro", pairs=("XBT/USD", "ETH/USD"))
    try:
        assert sim.private("Balance")["result"]["ZUSD"] == "100000.0000"
        sim.fault("unavailable", count=1)
    finally:
        sim.stop()

Or use the `sim_factory` fixture (import it into a conftest), which stops every simulator it started.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tradingbot_components.kraken.signing import BodyFormat, sign_request


@dataclass(frozen=True)
class HttpReply:
    status: int
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def http(
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> HttpReply:
    """One HTTP call that returns status and body whatever the status."""
    data = None if body is None else body.encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"User-Agent": "tests", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpReply(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        return HttpReply(exc.code, exc.read().decode())


def write_credentials(directory: Path) -> tuple[str, str]:
    """A fresh key and base64 secret in `directory/api-key` and `directory/api-secret`."""
    directory.mkdir(parents=True, exist_ok=True)
    api_key = base64.b64encode(secrets.token_bytes(42)).decode()
    api_secret = base64.b64encode(secrets.token_bytes(64)).decode()
    (directory / "api-key").write_text(api_key + "\n")
    (directory / "api-secret").write_text(api_secret + "\n")
    return api_key, api_secret


@dataclass
class SimHandle:
    """A running simulator. `url_rest` is Kraken's base (append `/0/public/Time`); `url_ws` is `/v2`."""

    url_rest: str
    url_ws: str
    api_key: str
    api_secret: str
    process: ComponentProcess
    runner: ComponentRunner
    _nonce: int = field(default=0, repr=False)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not stop; safe to call twice."""
        if self.process.process.poll() is None:
            with contextlib.suppress(AssertionError):  # did not stop in time: cleanup kills it
                self.process.terminate(timeout=15)
        self.runner.cleanup()

    def next_nonce(self) -> int:
        self._nonce = max(self._nonce + 1, time.time_ns())
        return self._nonce

    def public(self, method: str, **params: Any) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return http(f"{self.url_rest}/0/public/{method}{query}").json

    def private_raw(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        nonce: int | None = None,
        body_format: BodyFormat = BodyFormat.FORM,
        api_key: str | None = None,
        api_secret: str | None = None,
        signature: str | None = None,
    ) -> HttpReply:
        """A signed private call; override the nonce, key, secret or signature to provoke errors."""
        path = f"/0/private/{method}"
        signed = sign_request(
            path,
            dict(params or {}),
            nonce=self.next_nonce() if nonce is None else nonce,
            api_key=api_key or self.api_key,
            secret_b64=api_secret or self.api_secret,
            body_format=body_format,
        )
        headers = dict(signed.headers)
        if signature is not None:
            headers["API-Sign"] = signature
        return http(self.url_rest + path, method="POST", body=signed.body, headers=headers)

    def private(self, method: str, params: Mapping[str, Any] | None = None, **options: Any) -> Any:
        return self.private_raw(method, params, **options).json

    def control(self, path: str, body: Any | None = None) -> Any:
        if body is None:
            return http(f"{self.url_rest}/_sim/{path}").json
        reply = http(
            f"{self.url_rest}/_sim/{path}",
            method="POST",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert reply.status == 200, reply.text
        return reply.json

    def fault(self, mode: str, **options: Any) -> Any:
        """`POST /_sim/faults` with `{"mode": mode, **options}`."""
        return self.control("faults", {"mode": mode, **options})

    def clear_faults(self) -> Any:
        return self.fault("none")

    def stats(self) -> Any:
        return self.control("stats")

    def market(self) -> Any:
        return self.control("market")

    def move_market(self, pair: str, price: str) -> Any:
        return self.control("market", {"pair": pair, "price": price})

    def ws_token(self) -> str:
        reply = self.private("GetWebSocketsToken")
        assert reply["error"] == [], reply
        return str(reply["result"]["token"])


def start_sim(
    tmp_path: Path,
    *,
    tier: str = "starter",
    pairs: Sequence[str] = ("XBT/USD",),
    seed: int | None = 7,
    balances: str | None = None,
    tick_seconds: float | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> SimHandle:
    """Start `exchange-sim` with its own config and credentials under `tmp_path`, wait until ready."""
    workdir = tmp_path / f"sim-{secrets.token_hex(3)}"
    workdir.mkdir(parents=True)
    api_key, api_secret = write_credentials(workdir / "credentials")
    config = workdir / "config.json"
    config.write_text(json.dumps({"rate_limiting": {"tier": tier}, "trading": {"pairs": list(pairs)}}))
    variables = dict(env or {})
    if seed is not None:
        variables.setdefault("TRADINGBOT_SIM_SEED", str(seed))
    if balances is not None:
        variables.setdefault("TRADINGBOT_SIM_BALANCES", balances)
    if tick_seconds is not None:
        variables.setdefault("TRADINGBOT_SIM_TICK_SECONDS", str(tick_seconds))
    variables.setdefault("TRADINGBOT_LOG_FORMAT", os.environ.get("TRADINGBOT_LOG_FORMAT", "json"))
    runner = ComponentRunner(workdir)
    process = runner.start(
        "exchange-sim", "--config", str(config), "--credentials", str(workdir / "credentials"), env=variables
    )
    try:
        process.wait_ready(timeout)
    except BaseException:
        runner.cleanup()
        raise
    base = f"http://127.0.0.1:{process.port}"
    return SimHandle(base, f"ws://127.0.0.1:{process.port}/v2", api_key, api_secret, process, runner)


@pytest.fixture
def sim_factory(tmp_path: Path) -> Iterator[Callable[..., SimHandle]]:
    """`sim_factory(tier=..., pairs=...)` starts a simulator; all of them are stopped after the test."""
    started: list[SimHandle] = []

    def factory(**options: Any) -> SimHandle:
        handle = start_sim(tmp_path, **options)
        started.append(handle)
        return handle

    try:
        yield factory
    finally:
        for handle in started:
            handle.stop()
