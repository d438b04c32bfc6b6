"""The spec the planner sees for a local bot: the file's spec with the node's facts filled in.

Endpoints of every component the runner starts point at the 127.0.0.1 port it picked for that component
(in paper mode the exchange endpoints point at the simulator unless the document names them), storage
keeps its SQLite file in the state directory, and overlays (suspend, `update_config`) go on top. Ports are
picked once per run and kept, so a restart-field hash never moves because of them.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tradingbot_components.config.paths import with_value
from tradingbot_operator.local.document import LOCAL_IMAGE, LocalBot
from tradingbot_operator.planner.bot import CheckedSpec, check_spec

# component -> (endpoints key, URL template)
ENDPOINTS: dict[str, tuple[tuple[str, str], ...]] = {
    "storage": (("storage", "http://127.0.0.1:{port}"),),
    "auth": (("auth", "http://127.0.0.1:{port}"),),
    "gateway": (("gateway", "http://127.0.0.1:{port}"),),
    "market-data": (("market_data", "ws://127.0.0.1:{port}/stream"),),
    "balance-manager": (("balance_manager", "http://127.0.0.1:{port}"),),
    "portfolio": (("portfolio", "http://127.0.0.1:{port}"),),
    "exchange-sim": (
        ("exchange_rest", "http://127.0.0.1:{port}"),
        ("exchange_ws", "ws://127.0.0.1:{port}/v2"),
    ),
}
EXCHANGE_KEYS = ("exchange_rest", "exchange_ws")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def component_names(spec: Mapping[str, Any]) -> list[str]:
    checked = check_spec(spec, LOCAL_IMAGE)
    return [p.name for p in checked.plans] if isinstance(checked, CheckedSpec) else []


def assign_ports(ports: dict[str, int], names: Iterable[str]) -> dict[str, int]:
    """Keep the ports already given; pick free ones for new components."""
    for name in names:
        if name not in ports:
            taken = set(ports.values())
            port = free_port()
            while port in taken:
                port = free_port()
            ports[name] = port
    return ports


def local_spec(
    bot: LocalBot,
    ports: Mapping[str, int],
    data_dir: Path,
    *,
    suspend: bool | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The spec to plan: endpoints at local ports, storage in the state directory, overlays applied."""
    spec = copy.deepcopy(bot.spec)
    config: dict[str, Any] = spec.get("config") or {}
    for path, value in (overrides or {}).items():
        config = with_value(config, path, value)
    spec["config"] = config
    endpoints = dict(config.get("endpoints") or {})
    for component, keys in ENDPOINTS.items():
        if component not in ports:
            continue
        for key, template in keys:
            if key in EXCHANGE_KEYS and key in endpoints:
                continue  # the document names an exchange: it wins, as in the cluster
            endpoints[key] = template.format(port=ports[component])
    config["endpoints"] = endpoints
    storage = dict(config.get("storage") or {})
    storage.setdefault("sqlite_path", str(data_dir / "storage.db"))
    config["storage"] = storage
    if suspend is not None:
        spec["suspend"] = suspend
    return spec
