"""The bot's config document: one schema shared by every component and by the operator."""

from tradingbot_components.config.schema import (
    COMPONENT_NAMES,
    BotConfig,
    FieldPolicy,
    Reload,
    field_policies,
)

__all__ = ["COMPONENT_NAMES", "BotConfig", "FieldPolicy", "Reload", "field_policies"]
