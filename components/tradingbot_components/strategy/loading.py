"""Finding a strategy class by import path (`package.module:ClassName`), with errors that say what is wrong."""

from __future__ import annotations

import importlib

from tradingbot_components.strategy.api import Strategy

DEFAULT_STRATEGY = "tradingbot_components.strategy.take_profit:TakeProfit"


class StrategyLoadError(ValueError):
    """The import path does not name a usable strategy class."""


def load_strategy(path: str) -> Strategy:
    """A new instance of the strategy class at `path` (constructed without arguments)."""
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise StrategyLoadError(f"strategy {path!r}: expected 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StrategyLoadError(f"strategy {path!r}: cannot import {module_name!r}: {exc}") from None
    target = getattr(module, class_name, None)
    if target is None:
        raise StrategyLoadError(f"strategy {path!r}: module {module_name!r} has no {class_name!r}")
    if not (isinstance(target, type) and issubclass(target, Strategy)):
        raise StrategyLoadError(
            f"strategy {path!r}: {class_name} is not a subclass of tradingbot_components.strategy.Strategy"
        )
    try:
        return target()
    except TypeError as exc:
        raise StrategyLoadError(f"strategy {path!r}: cannot construct {class_name}() : {exc}") from None
