"""What an identity may do and what a process did, as sets of (apiGroup, resource[/subresource], verb).

`can_i_list` reads `kubectl auth can-i --list` (what RBAC grants a ServiceAccount); `audited` reads the API
server's audit log (what the operator's identity actually asked for). Tests compare the two.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cluster import LocalCluster

Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)

_ROW = re.compile(
    r"^(?P<resource>\S*)\s+\[(?P<urls>[^\]]*)\]\s+\[(?P<names>[^\]]*)\]\s+\[(?P<verbs>[^\]]*)\]\s*$"
)


@dataclass(frozen=True)
class Grant:
    group: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()  # resourceNames the rule is limited to; empty: any

    @property
    def permission(self) -> Permission:
        return (self.group, self.resource, self.verb)


def _split(resource: str) -> tuple[str, str]:
    """`deployments.apps` -> ('apps', 'deployments'); `tradingbots.tradingbot.dev/status` -> group, 'tradingbots/status'."""
    name, _, sub = resource.partition("/")
    plural, _, group = name.partition(".")
    return group, f"{plural}/{sub}" if sub else plural


def can_i_list(cluster: LocalCluster, namespace: str, user: str) -> set[Grant]:
    """Resource rules RBAC grants `user` in `namespace` (cluster-wide rules included); URLs are left out."""
    out = cluster.kubectl("auth", "can-i", "--list", f"--as={user}", "-n", namespace).stdout
    grants: set[Grant] = set()
    for line in out.splitlines()[1:]:
        row = _ROW.match(line)
        if not row or not row["resource"]:
            continue
        group, resource = _split(row["resource"])
        names = tuple(sorted(row["names"].split())) if row["names"] else ()
        for verb in row["verbs"].split():
            grants.add(Grant(group, resource, verb, names))
    return grants


def service_account(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


class AuditLog:
    """The API server's audit log, read from where it stood when this object was made."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.path = cluster.state_dir / "logs" / "audit.log"
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def events(self, user: str) -> list[dict[str, Any]]:
        with Path(self.path).open("rb") as log:
            log.seek(self.offset if self.path.stat().st_size >= self.offset else 0)  # rotated: a new file
            lines = log.read().splitlines()
        found = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by rotation or still being written
            if event.get("user", {}).get("username") == user:
                found.append(event)
        return found


def audited(events: Iterable[Mapping[str, Any]], namespace: str) -> set[Permission]:
    """What the requests asked for, in `namespace` or cluster-scoped. A server-side apply that created its
    object is a `patch` answered 201: RBAC checked `create` too, so it counts as both."""
    asked: set[Permission] = set()
    for event in events:
        ref = event.get("objectRef") or {}
        if not ref.get("resource") or ref.get("namespace") not in (None, namespace):
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        permission = (ref.get("apiGroup", ""), resource, event["verb"])
        asked.add(permission)
        if event["verb"] == "patch" and (event.get("responseStatus") or {}).get("code") == 201:
            asked.add((permission[0], resource, "create"))
    return asked


def rule_permissions(rules: Iterable[Mapping[str, Any]]) -> set[Permission]:
    """RBAC rules as permissions (resourceNames ignored: holding the broader permission covers them)."""
    found: set[Permission] = set()
    for rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                found |= {(group, resource, verb) for verb in rule.get("verbs", [])}
    return found
