"""The operator's bot trades on paper: each component is started exactly as its Deployment says (command and
args from the API), as a real process here, reading the operator-made ConfigMap through the API and the
operator-made paper credentials; only what a pod would get from the node is replaced (127.0.0.1 ports for
the Service addresses, a temp dir for the mounted volumes). The bot places orders that the simulator fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentRunner
from tests.support.bot_processes import PHASE_ORDER, start_components, write_credentials
from tests.support.bots import Bots, bot_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tests.support.waiting import wait_until


def test_the_operators_paper_bot_trades_with_the_components_its_deployments_start(
    cluster: LocalCluster, operator: OperatorProcess, bots: Bots, components: ComponentRunner, tmp_path: Path
) -> None:
    bots.create(bot_manifest("paper", config={"trading": {"max_position_size": 50.0}}))
    bots.wait_ready("paper")
    credentials = write_credentials(bots, "paper-paper-credentials", tmp_path / "credentials")
    started = start_components(components, bots, "paper", tmp_path, credentials)

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
