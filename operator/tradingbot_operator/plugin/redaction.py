"""Redaction of Kubernetes objects before they leave the cluster in a diagnostics report.

Pure. Secrets themselves are never fetched; this removes what could still carry a secret value: env values
and `--flag=value` arguments whose names look secret, secret-looking keys of config documents, the
last-applied/last-handled annotations (whole copies of a spec) and managedFields (noise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tradingbot_operator.planner.bot import credentials_secret

REDACTED = "<redacted>"
# Substrings of a name (case-insensitive) that mark its value as secret: API_KEY, DB_PASSWORD, STORAGE_DSN...
SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "DSN", "CREDENTIAL", "PRIVATE")
# Annotations holding a full copy of an object as the last client wrote it (env values included).
COPY_ANNOTATIONS = ("/last-applied-configuration", "/last-handled-configuration")
_ARG = re.compile(r"^(-{1,2}[^=\s]+)=(.*)$", re.DOTALL)


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def redact_env(env: Iterable[Any]) -> list[Any]:
    """Env entries keep their names and references (valueFrom); literal values of secret names go."""
    out = []
    for entry in env:
        if isinstance(entry, Mapping) and "value" in entry and looks_secret(str(entry.get("name", ""))):
            entry = {**entry, "value": REDACTED}
        out.append(entry)
    return out


def redact_args(args: Iterable[Any]) -> list[Any]:
    """`--api-token=abc` becomes `--api-token=<redacted>`."""
    out = []
    for arg in args:
        match = _ARG.match(arg) if isinstance(arg, str) else None
        out.append(f"{match.group(1)}={REDACTED}" if match and looks_secret(match.group(1)) else arg)
    return out


def redact_document(node: Any) -> Any:
    """A config document (the bot's spec.config, a ConfigMap's JSON): secret-looking keys lose their values."""
    if isinstance(node, Mapping):
        return {
            key: REDACTED
            if looks_secret(str(key)) and not isinstance(value, Mapping | list) and value is not None
            else redact_document(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [redact_document(item) for item in node]
    return node


def _redact_config_map_data(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if looks_secret(key):
            out[key] = REDACTED
            continue
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            out[key] = value
            continue
        out[key] = json.dumps(redact_document(parsed), indent=2, sort_keys=True)
    return out


def _walk(node: Any) -> Any:
    if isinstance(node, list):
        return [_walk(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "managedFields":
            continue
        if key == "annotations" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if not k.endswith(COPY_ANNOTATIONS)}
        elif key == "env" and isinstance(value, list):
            value = redact_env(value)
        elif key in ("args", "command") and isinstance(value, list):
            value = redact_args(value)
        out[key] = _walk(value)
    return out


def redact_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `obj` safe to hand to someone outside the cluster."""
    out: dict[str, Any] = _walk(obj)
    kind = out.get("kind")
    if kind == "Secret":  # never fetched by the plugin; if one is passed in anyway, keep its name only
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": out["metadata"].get("name")}}
    if kind == "TradingBot" and isinstance(out.get("spec", {}).get("config"), Mapping):
        out["spec"] = {**out["spec"], "config": redact_document(out["spec"]["config"])}
    if kind == "ConfigMap":
        if isinstance(out.get("data"), Mapping):
            out["data"] = _redact_config_map_data(out["data"])
        if isinstance(out.get("binaryData"), Mapping):
            out["binaryData"] = dict.fromkeys(out["binaryData"], REDACTED)
    return out


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return spec
    return (spec.get("template") or {}).get("spec") or {}


def _pod_spec_references(spec: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """(secret name, where) for every Secret a pod spec refers to."""
    for volume in spec.get("volumes") or []:
        if name := (volume.get("secret") or {}).get("secretName"):
            yield name, f"volume {volume.get('name')}"
        for source in (volume.get("projected") or {}).get("sources") or []:
            if name := (source.get("secret") or {}).get("name"):
                yield name, f"projected volume {volume.get('name')}"
    for pull in spec.get("imagePullSecrets") or []:
        if name := pull.get("name"):
            yield name, "imagePullSecrets"
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for env in container.get("env") or []:
            if name := ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name"):
                yield name, f"container {container.get('name')} env {env.get('name')}"
        for source in container.get("envFrom") or []:
            if name := (source.get("secretRef") or {}).get("name"):
                yield name, f"container {container.get('name')} envFrom"


def referenced_secrets(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Secret name -> the objects (and fields) that reference it; names only, never data."""
    found: dict[str, set[str]] = {}
    for obj in objects:
        kind, name = obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")
        if kind == "TradingBot":
            secret, operator_made = credentials_secret(name, obj.get("spec") or {})
            if secret:
                where = "paper account made by the operator" if operator_made else "spec.exchange"
                found.setdefault(secret, set()).add(f"TradingBot/{name} ({where})")
            continue
        for secret, where in _pod_spec_references(_pod_spec(obj)):
            found.setdefault(secret, set()).add(f"{kind}/{name} ({where})")
    return {secret: sorted(refs) for secret, refs in sorted(found.items())}
