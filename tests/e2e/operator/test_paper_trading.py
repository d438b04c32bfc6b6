"""The operator's bot trades on paper: each component is started exactly as its Deployment says (command and
args from the API), as a real process here, reading the operator-made ConfigMap through the API and the
operator-made paper credentials; only what a pod would get from the node is replaced (127.0.0.1 ports for
the Service addresses, a temp dir for the mounted volumes). The bot places orders that the simulator fills.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until
from tradingbot_components.app import known_components

PHASE_ORDER = [
    "storage",
    "exchange-sim",
    "auth",
    "gateway",
    "market-data",
    "balance-manager",
    "portfolio",
    "trader",
]
ENDPOINT_OF = {
    "storage": ("TRADINGBOT_ENDPOINTS_STORAGE", "http://127.0.0.1:{port}"),
    "auth": ("TRADINGBOT_ENDPOINTS_AUTH", "http://127.0.0.1:{port}"),
    "gateway": ("TRADINGBOT_ENDPOINTS_GATEWAY", "http://127.0.0.1:{port}"),
    "market-data": ("TRADINGBOT_ENDPOINTS_MARKET_DATA", "ws://127.0.0.1:{port}/stream"),
    "balance-manager": ("TRADINGBOT_ENDPOINTS_BALANCE_MANAGER", "http://127.0.0.1:{port}"),
    "portfolio": ("TRADINGBOT_ENDPOINTS_PORTFOLIO", "http://127.0.0.1:{port}"),
}


def local_args(container: dict[str, Any], credentials: Path) -> list[str]:
    """The Deployment's args with the node-side paths and port swapped for local ones."""
    args, out = list(container["args"]), []
    i = 0
    while i < len(args):
        if args[i] == "--config":  # the kubelet-mounted file: the API watch (--configmap) is the source here
            i += 2
            continue
        if args[i] == "--port":  # the test runner picks a free port
            i += 2
            continue
        if args[i] == "--credentials":
            out += ["--credentials", str(credentials)]
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def test_the_operators_paper_bot_trades_with_the_components_its_deployments_start(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots, components: ComponentRunner, tmp_path: Path
) -> None:
    bots.create(bot_manifest("paper", config={"trading": {"max_position_size": 50.0}}))
    bots.wait_ready("paper")
    secret = bots.core.read_namespaced_secret("paper-paper-credentials", bots.namespace)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for key, value in secret.data.items():
        (credentials / key).write_bytes(base64.b64decode(value))

    deployments = {
        d.metadata.labels["app.kubernetes.io/component"]: d
        for d in bots.apps.list_namespaced_deployment(
            bots.namespace, label_selector="app.kubernetes.io/instance=paper"
        ).items
    }
    assert sorted(deployments) == sorted(PHASE_ORDER)
    env = {
        "KUBECONFIG": str(cluster.kubeconfig),
        "TRADINGBOT_RUNTIME_DIR": str(tmp_path / "runtime"),
        "TRADINGBOT_STORAGE_SQLITE_PATH": str(tmp_path / "storage.db"),
    }
    started: dict[str, ComponentProcess] = {}
    for name in PHASE_ORDER:
        container = deployments[name].spec.template.spec.containers[0].to_dict()
        assert container["command"] == ["tradingbot-component"]
        component, *args = local_args(container, credentials)
        assert component == name and component in known_components()
        for variable in container.get("env") or []:
            if (
                variable.get("value") is not None
                and variable["name"].startswith("TRADINGBOT_")
                and variable["name"] != "TRADINGBOT_CONFIG"
            ):
                env.setdefault(variable["name"], variable["value"])
        process = components.start(component, *args, env=dict(env))
        process.wait_ready(timeout=60)
        started[name] = process
        if name == "exchange-sim":
            env["TRADINGBOT_ENDPOINTS_EXCHANGE_REST"] = process.url("")
            env["TRADINGBOT_ENDPOINTS_EXCHANGE_WS"] = f"ws://127.0.0.1:{process.port}/v2"
        elif name in ENDPOINT_OF:
            variable, template = ENDPOINT_OF[name]
            env[variable] = template.format(port=process.port)

    # Every component read the operator's ConfigMap (generation 1), not a file.
    for name, process in started.items():
        assert process.get("/config").json["generation"] >= 1, name
        assert process.get("/config").json["config"]["trading"]["max_position_size"] == 50.0, name

    trader = started["trader"]

    def filled() -> list[dict[str, Any]] | None:
        orders = trader.get("/orders").json["orders"]
        done = [o for o in orders if o["status"] == "filled"]
        return done or None

    orders = wait_until(filled, timeout=60, what="an order placed by the trader and filled by the simulator")
    assert all(o["cl_ord_id"] and o["exchange_order_id"] for o in orders)
    positions = wait_until(
        lambda: started["portfolio"].get("/positions").json["positions"] or None,
        timeout=20,
        what="a position",
    )
    assert positions[0]["pair"] == "BTC/USD"
    assert started["balance-manager"].get("/readyz").status == 200
    # SIGTERM in reverse phase order, as the operator's teardown does: the trader leaves nothing open.
    for name in reversed(PHASE_ORDER):
        assert started[name].terminate(timeout=30) == 0, started[name].log_text()[-3000:]
