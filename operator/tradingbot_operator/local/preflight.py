"""Kraken preflight for a running local bot: the checks that catch a bot that will misbehave against the
exchange, each with a verdict (ok, warning, fail, skipped) and what to do.

- clock skew: the exchange's `Time` against this machine's clock (nonces and order deadlines need both close);
- key permissions: harmless private calls (`Balance`, `OpenOrders`) through the bot's own gateway, so auth
  signs them with its own nonce sequence (signing here with the key would break the bot's next nonce);
- nonce window: auth's sequencer state (one signer per key; a stored high-water mark ahead of the last nonce);
- tier: the configured `rate_limiting.tier` against what the gateway's counters and its rate-limit answers show.
The API key and secret are never read here.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

OK, WARNING, FAIL, SKIPPED = "ok", "warning", "fail", "skipped"
SKEW_WARNING, SKEW_FAIL = 1.0, 5.0
PERMISSIONS = {"Balance": "Funds: Query", "OpenOrders": "Orders and trades: Query open orders and trades"}

Fetch = Callable[[str, str, Mapping[str, Any] | None], Any]


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def http_json(url: str, method: str = "GET", body: Mapping[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            return json.loads(error.read() or b"null")
        except ValueError:
            return {"error": [f"HTTP {error.code}"]}


def clock_skew(exchange_rest: str, fetch: Fetch = http_json, clock: Callable[[], float] = time.time) -> Check:
    try:
        before = clock()
        answer = fetch(f"{exchange_rest.rstrip('/')}/0/public/Time", "GET", None)
        after = clock()
        server = float(answer["result"]["unixtime"])
    except (OSError, KeyError, TypeError, ValueError) as error:
        return Check("clock skew", FAIL, f"cannot read the exchange's Time at {exchange_rest}: {error}")
    skew = server - (before + after) / 2
    verdict = OK if abs(skew) < SKEW_WARNING else (WARNING if abs(skew) < SKEW_FAIL else FAIL)
    advice = "" if verdict == OK else "; synchronise this machine's clock (NTP)"
    return Check("clock skew", verdict, f"{skew:+.2f} s against the exchange's Time (1 s resolution){advice}")


def key_permissions(gateway: str | None, fetch: Fetch = http_json) -> Check:
    if not gateway:
        return Check("key permissions", SKIPPED, "the gateway is not running")
    missing, failures = [], []
    for method, permission in PERMISSIONS.items():
        try:
            answer = fetch(f"{gateway.rstrip('/')}/private/{method}", "POST", {})
        except OSError as error:
            return Check("key permissions", FAIL, f"the gateway did not answer {method}: {error}")
        errors = (answer or {}).get("error") or []
        if any("Permission denied" in str(e) for e in errors):
            missing.append(permission)
        elif errors:
            failures.append(f"{method}: {', '.join(map(str, errors))}")
    if missing:
        return Check("key permissions", FAIL, "the key lacks: " + "; ".join(missing))
    if failures:
        return Check("key permissions", WARNING, "; ".join(failures))
    return Check(
        "key permissions", OK, f"{', '.join(PERMISSIONS)} answered through the gateway (auth signed)"
    )


def nonce_window(auth_health: Mapping[str, Any] | None) -> Check:
    nonce = ((auth_health or {}).get("auth") or {}).get("nonce") or {}
    if not nonce:
        return Check("nonce window", SKIPPED, "auth is not running")
    claim = ((auth_health or {}).get("auth") or {}).get("claim") or {}
    if nonce.get("last_store_error"):
        return Check("nonce window", FAIL, f"the nonce mark cannot be stored: {nonce['last_store_error']}")
    if not claim.get("held", False):
        return Check("nonce window", FAIL, "auth does not hold the key's single-signer claim")
    ahead = (nonce.get("reserved_until") or 0) - (nonce.get("last_nonce") or 0)
    return Check(
        "nonce window",
        OK,
        f"one signer ({claim.get('kind', 'claim')}); {nonce.get('signed', 0)} signed, stored mark "
        f"{ahead / 1000:.0f} s ahead of the last nonce. Another program using this key needs its own key, or "
        "a nonce window set on the key at the exchange",
    )


def tier(configured: str, gateway_health: Mapping[str, Any] | None, rate_limited: float | None) -> Check:
    gateway = (gateway_health or {}).get("gateway") or {}
    counters = gateway.get("rate_counters") or {}
    rest = counters.get("rest") or {}
    shown = f"configured tier {configured}: REST counter max {rest.get('max', '?')}"
    if rate_limited:
        return Check(
            "tier",
            WARNING,
            f"{shown}; {int(rate_limited)} calls were refused for rate: the account's tier may be lower "
            "than configured (rate_limiting.tier)",
        )
    if not gateway:
        return Check("tier", SKIPPED, f"{shown}; the gateway is not running")
    return Check("tier", OK, f"{shown}; no rate-limit refusals so far")


def run_preflight(
    config: Mapping[str, Any],
    urls: Mapping[str, str | None],
    health: Mapping[str, Mapping[str, Any] | None],
    rate_limited: float | None,
    fetch: Fetch = http_json,
) -> list[Check]:
    endpoints = config.get("endpoints") or {}
    return [
        clock_skew(str(endpoints.get("exchange_rest", "https://api.kraken.com")), fetch),
        key_permissions(urls.get("gateway"), fetch),
        nonce_window(health.get("auth")),
        tier(
            str((config.get("rate_limiting") or {}).get("tier", "starter")),
            health.get("gateway"),
            rate_limited,
        ),
    ]
