"""The effective config document of a bot and its hashes.

The operator fills `endpoints` from the bot's own Services (a user's explicit endpoint wins), drops secret
fields, and hashes, per component, just the restart-policy fields that component reads: a change to a hot
field leaves every pod template alone, a restart field rolls only its readers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tradingbot_components.config import BotConfig, Reload, field_policies
from tradingbot_operator.api.constants import COMPONENT_PORT
from tradingbot_operator.api.types import ExchangeMode, TradingBotSpec

_POLICIES = field_policies()


def digest(value: Any) -> str:
    """A short, stable hash of a JSON-able value."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def service_url(bot: str, namespace: str, component: str, scheme: str = "http", path: str = "") -> str:
    return f"{scheme}://{bot}-{component}.{namespace}.svc:{COMPONENT_PORT}{path}"


def effective_config(
    spec: TradingBotSpec, raw_config: Mapping[str, Any], bot: str, namespace: str
) -> BotConfig:
    """spec.config with endpoints pointing at this bot's Services; explicitly set endpoints are kept."""
    derived = {
        "auth": service_url(bot, namespace, "auth"),
        "gateway": service_url(bot, namespace, "gateway"),
        "storage": service_url(bot, namespace, "storage"),
        "market_data": service_url(bot, namespace, "market-data", "ws", "/stream"),
        "balance_manager": service_url(bot, namespace, "balance-manager"),
        "portfolio": service_url(bot, namespace, "portfolio"),
    }
    if spec.exchange.mode == ExchangeMode.PAPER:
        derived["exchange_rest"] = service_url(bot, namespace, "exchange-sim")
        derived["exchange_ws"] = service_url(bot, namespace, "exchange-sim", "ws", "/v2")
    explicit = dict(raw_config.get("endpoints") or {})
    endpoints = spec.config.endpoints.model_copy(update={**derived, **explicit})
    return spec.config.model_copy(update={"endpoints": endpoints})


def public_document(config: BotConfig) -> dict[str, Any]:
    """The document as it goes into the ConfigMap: secret fields are never written there."""
    document = config.model_dump(mode="json")
    for policy in _POLICIES.values():
        if policy.secret:
            section, key = policy.path.split(".", 1)
            document.get(section, {}).pop(key, None)
    return document


def _value(document: Mapping[str, Any], path: str) -> Any:
    section, key = path.split(".", 1)
    return document.get(section, {}).get(key)


def restart_hash(document: Mapping[str, Any], component: str, builtin: bool) -> str:
    """Hash of the restart fields `component` reads; custom components read all of them."""
    fields = {
        path: _value(document, path)
        for path, policy in sorted(_POLICIES.items())
        if policy.reload is Reload.RESTART
        and not policy.secret
        and (not builtin or component in policy.readers)
    }
    return digest(fields)
