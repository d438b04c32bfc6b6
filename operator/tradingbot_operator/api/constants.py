"""Names the operator shares with users and tools: API group, labels, annotations, field manager."""

from __future__ import annotations

GROUP = "tradingbot.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TradingBot"
PLURAL = "tradingbots"
SINGULAR = "tradingbot"
SHORT_NAMES = ("tb",)

FIELD_MANAGER = "tradingbot-operator"
# What the built-in components run unless the chart or spec.image says otherwise. No registry serves it: build it
# (Dockerfile, or `make image` without Docker) and load it where the nodes pull from (docs/install.md).
DEFAULT_IMAGE = "ghcr.io/tradingbot-operator/tradingbot:0.1.0"
COMPONENT_PORT = 8080


class Labels:
    NAME = "app.kubernetes.io/name"
    INSTANCE = "app.kubernetes.io/instance"
    COMPONENT = "app.kubernetes.io/component"
    MANAGED_BY = "app.kubernetes.io/managed-by"
    PART_OF = "app.kubernetes.io/part-of"
    PHASE = f"{GROUP}/phase"

    NAME_VALUE = "tradingbot"
    MANAGED_BY_VALUE = "tradingbot-operator"


class Annotations:
    # Hash of everything the operator applied to a child; equal hash means nothing to patch.
    APPLIED_HASH = f"{GROUP}/applied-hash"
    # Hash of the restart-policy config fields a component reads; changing it rolls that component only.
    CONFIG_HASH = f"{GROUP}/config-hash"
    CONFIG_GENERATION = f"{GROUP}/config-generation"
    NOT_READY = (
        f"{GROUP}/not-ready"  # on a Pod: why its component is not ready (the reasons its /readyz gives)
    )
    # Set on the pod template to restart a component (recovery, retries, manual restarts).
    RESTARTED_AT = f"{GROUP}/restartedAt"
    # On a Deployment: the startup attempt (spec generation) that scaled it up from zero. Written with the scale-up
    # itself, so an operator killed before it records the start in status still knows what to roll back.
    STARTED_BY = f"{GROUP}/started-by-attempt"
    # Set on the TradingBot by users or `kubectl tradingbot restart`: "<component>" or "all".
    RESTART_REQUEST = f"{GROUP}/restart"
