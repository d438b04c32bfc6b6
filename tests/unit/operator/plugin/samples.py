"""TradingBot objects as the API server returns them, for the plugin's pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
COMPONENTS = (
    ("storage", "Infrastructure"),
    ("exchange-sim", "Infrastructure"),
    ("auth", "Auth"),
    ("gateway", "Network"),
    ("market-data", "Network"),
    ("balance-manager", "Services"),
    ("portfolio", "Services"),
    ("trader", "Services"),
)


def component(name: str, phase: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "phase": phase,
        "state": "Ready",
        "ready": "1/1",
        "health": "Healthy",
        "reason": "Healthy",
        "message": "",
        "restarts": 0,
        "configGeneration": 1,
    }
    return {**row, **fields}


def status(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "phase": "Running",
        "startupPhase": "Complete",
        "ready": "8/8",
        "health": "Healthy",
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "AllReady",
                "message": "every component is Ready",
                "lastTransitionTime": "2025-01-01T11:55:00Z",
            }
        ],
        "components": [component(name, phase) for name, phase in COMPONENTS],
        "config": {"generation": 1, "hash": "a6ce60908a9ff6ca"},
        "alerts": [],
    }
    return {**body, **overrides}


def bot(name: str = "kraken-main", namespace: str = "bots", **fields: Any) -> dict[str, Any]:
    """A TradingBot object; pass status=None for one the operator has not reported on."""
    raw: dict[str, Any] = {
        "apiVersion": "tradingbot.dev/v1alpha1",
        "kind": "TradingBot",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": 1,
            "resourceVersion": "42",
            "uid": "uid-bot",
            "creationTimestamp": "2025-01-01T11:50:00Z",
            "annotations": {},
        },
        "spec": {"exchange": {"mode": "paper"}},
        "status": status(),
    }
    for key, value in fields.items():
        if key in ("annotations", "generation"):
            raw["metadata"][key] = value
        elif value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def with_rows(raw: dict[str, Any], **rows: dict[str, Any]) -> dict[str, Any]:
    """Change some component rows: with_rows(bot(), auth={"health": "Unhealthy"})."""
    raw["status"]["components"] = [
        {**row, **rows.get(row["name"], {})} for row in raw["status"]["components"]
    ]
    return raw
