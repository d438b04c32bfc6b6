"""A bot's config as the operator writes it: a ConfigMap with `config.json` and the generation annotation."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cluster import LocalCluster

ANNOTATION = "tradingbot.dev/config-generation"


def configmap(name: str, document: dict[str, Any], generation: int) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "annotations": {ANNOTATION: str(generation)}},
            "data": {"config.json": json.dumps(document)},
        }
    )


def apply(cluster: LocalCluster, namespace: str, name: str, doc: dict[str, Any], generation: int) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=configmap(name, doc, generation))
