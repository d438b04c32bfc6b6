"""TradingBot components: the shared component runtime and the bot's components (one image, many entrypoints)."""

__version__ = "0.1.0"
