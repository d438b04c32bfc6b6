"""Local mode: the same TradingBot run as child processes on one machine, by the operator's own planner.

`tradingbot run CONFIG` (cli.py) and the embedding API (`from tradingbot_operator.local import Orchestrator`)
share one runner (runner.py): observe processes as pods -> `plan_bot()` -> apply -> report.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Orchestrator", "StartupFailed"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tradingbot_operator.local import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(name)
