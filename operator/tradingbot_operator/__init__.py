"""TradingBot operator: reconciles TradingBot resources into phased, self-healing bot components."""

__version__ = "0.1.0"
