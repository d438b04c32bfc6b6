"""exchange-sim: a Kraken simulator faithful to the wire protocol (REST `/0/public|private`, WebSocket
v2 at `/v2`) over a seeded, moving market, with fault injection under `/_sim/`; see docs/exchange-sim.md.

Layers: `catalog`/`market`/`tape`/`orders`/`engine` are the exchange (pure, clock passed in);
`admission`/`faults` decide what gets in; `rest*`/`ws*`/`control` are the HTTP shell; `component`
wires it into a component process.
"""

from tradingbot_components.exchange_sim.catalog import Catalog, PairSpec
from tradingbot_components.exchange_sim.engine import Engine
from tradingbot_components.exchange_sim.settings import SimSettings, read_settings
from tradingbot_components.exchange_sim.simulator import Simulator

__all__ = ["Catalog", "Engine", "PairSpec", "SimSettings", "Simulator", "read_settings"]
