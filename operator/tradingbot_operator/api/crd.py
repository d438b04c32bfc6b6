"""Generate the TradingBot CustomResourceDefinition from the pydantic models.

pydantic emits JSON Schema 2020-12; Kubernetes wants a structural OpenAPI v3 subset: no $ref, no anyOf for
optional fields, boolean exclusive bounds, only x-kubernetes-* extensions. This module translates.
Run `python -m tradingbot_operator.api.crd` (or `make crds`) to print the YAML.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from pydantic import BaseModel

from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.api import constants as c
from tradingbot_operator.api.status import TradingBotStatus
from tradingbot_operator.api.types import TradingBotSpec

_DROP = {"title", "$defs"}
_LIST_MAP_KEYS = {"components": "name", "conditions": "type"}


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    """Translate one JSON Schema node (recursively) into its structural OpenAPI form."""
    if isinstance(node, list):
        return [_structural(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**target, **node}  # the field's own description/default win over the type's
    if "anyOf" in node:
        # Optional[X] arrives as anyOf [X, null]; an absent field already means "not set".
        variants = [v for v in node.pop("anyOf") if v.get("type") != "null"]
        if len(variants) != 1:
            raise ValueError(
                f"cannot express a union of {len(variants)} types in a structural schema: {variants}"
            )
        node = {**_structural(variants[0], defs), **node}
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, key in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(bound), int | float) and not isinstance(node.get(bound), bool):
            node[key] = node.pop(bound)
            node[bound] = True
    if node.get("default", 0) is None:
        del node["default"]
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]  # structural schemas prune unknown fields instead
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or (key.startswith("x-") and not key.startswith("x-kubernetes-")):
            continue
        if key == "properties":
            out[key] = {name: _structural(prop, defs) for name, prop in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value, defs)
        else:
            out[key] = value
    if "properties" in out:
        out.setdefault("type", "object")
        for name, key in _LIST_MAP_KEYS.items():
            prop = out["properties"].get(name)
            if prop and prop.get("type") == "array":
                prop["x-kubernetes-list-type"] = "map"
                prop["x-kubernetes-list-map-keys"] = [key]
    return out


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(raw, raw.get("$defs", {}))


def _spec_schema() -> dict[str, Any]:
    schema = openapi_schema(TradingBotSpec)
    defaults = ", ".join(f"'{name}'" for name in COMPONENT_NAMES)
    props = schema["properties"]
    props["exchange"]["x-kubernetes-validations"] = [
        {
            "rule": "self.mode != 'live' || has(self.credentialsSecret)",
            "message": "exchange.credentialsSecret is required when exchange.mode is live",
            "fieldPath": ".credentialsSecret",
            "reason": "FieldValueRequired",
        }
    ]
    props["components"]["x-kubernetes-validations"] = [
        {
            "rule": f"self.all(x, x.name in [{defaults}] || (has(x.image) && has(x.phase)))",
            "message": "a custom component (not one of the defaults) needs image and phase",
        },
        {
            "rule": f"self.all(x, !(x.name in [{defaults}]) || !has(x.phase))",
            "message": "the phase of a default component cannot be changed; use dependsOn to add ordering",
        },
    ]
    props["storage"]["x-kubernetes-validations"] = [
        {
            "rule": "has(self.storageClassName) == has(oldSelf.storageClassName)"
            " && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
            "message": "storage.storageClassName cannot be changed once the claim exists",
            "fieldPath": ".storageClassName",
            "reason": "FieldValueForbidden",
        },
        {
            "rule": "quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0",
            "message": "storage.size may grow but not shrink (a claim cannot be made smaller)",
            "fieldPath": ".size",
            "reason": "FieldValueInvalid",
        },
    ]
    config = props["config"]["properties"]
    for endpoint in config["endpoints"]["properties"].values():
        endpoint.pop("default", None)  # the operator derives endpoints from the bot's Services
    config["storage"]["x-kubernetes-validations"] = [
        {
            "rule": "!has(self.dsn)",
            "message": "storage.dsn is a secret: set it in the storage component's environment, never in spec.config",
            "fieldPath": ".dsn",
            "reason": "FieldValueForbidden",
        }
    ]
    schema["description"] = "Desired state of a trading bot: exchange, config document, components, policies."
    return schema


def _status_schema() -> dict[str, Any]:
    schema = openapi_schema(TradingBotStatus)
    schema["description"] = "Observed state, written by the operator only."
    return schema


def build_crd() -> dict[str, Any]:
    """The complete CustomResourceDefinition object."""
    columns = [
        ("Ready", "string", ".status.ready", "Ready components / components"),
        ("Phase", "string", ".status.phase", "Display summary"),
        ("Health", "string", ".status.health", "Worst health of the critical components"),
        ("Startup", "string", ".status.startupPhase", "Phase being started, or Complete"),
        ("Age", "date", ".metadata.creationTimestamp", ""),
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{c.PLURAL}.{c.GROUP}"},
        "spec": {
            "group": c.GROUP,
            "names": {
                "kind": c.KIND,
                "listKind": f"{c.KIND}List",
                "plural": c.PLURAL,
                "singular": c.SINGULAR,
                "shortNames": list(c.SHORT_NAMES),
                "categories": ["tradingbot"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": n, "type": t, "jsonPath": p, **({"description": d} if d else {})}
                        for n, t, p, d in columns
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "A Kraken trading bot run as phased, self-healing components.",
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": _spec_schema(),
                                "status": _status_schema(),
                            },
                        }
                    },
                }
            ],
        },
    }


def render() -> str:
    header = "# Generated by `make crds` from operator/tradingbot_operator/api; do not edit.\n"
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
