"""What the operator asks of the API server, read from its code: the oracle the chart's RBAC is tested against.

Sources: reconciler/kube.py (server-side apply = create + patch, Secret create and metadata get, status and
annotation patches, Deployment delete), reconciler/handlers.py (kopf indexes and watches, finalizer patches,
events), planner/desired.py (the components' Role, whose rules the operator must hold to grant them), and
kopf's scanning (CRDs always; Namespaces only when it watches a list of namespaces).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Permission = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)


@dataclass(frozen=True)
class Access:
    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str

    def permissions(self) -> set[Permission]:
        return {(self.group, self.resource, verb) for verb in self.verbs}


APPLY = ("create", "patch")  # server-side apply creates on first use, so it needs both
# Core objects are applied server-side, and read first after a restart or on the safety resync (reconcile.py).
APPLIED = ("get", *APPLY)

# Needed in every namespace the operator watches.
WORKLOAD: tuple[Access, ...] = (
    Access("tradingbot.dev", "tradingbots", ("list", "watch"), "kopf watches TradingBots"),
    Access("tradingbot.dev", "tradingbots", ("patch",), "kopf finalizer/annotations; Kube.remove_annotation"),
    Access("tradingbot.dev", "tradingbots/status", ("patch",), "Kube.patch_status"),
    Access("", "events", ("create",), "kopf.event and kopf's handler-log events"),
    Access("", "configmaps", APPLIED, "the bot's config ConfigMap"),
    Access("", "configmaps", ("list", "watch"), "granted by the components' Roles"),
    Access("", "services", APPLIED, "a Service per component"),
    Access("", "serviceaccounts", APPLIED, "the components' ServiceAccount"),
    Access("rbac.authorization.k8s.io", "roles", APPLIED, "the components' Role"),
    Access("rbac.authorization.k8s.io", "rolebindings", APPLIED, "the components' RoleBinding"),
    Access("networking.k8s.io", "networkpolicies", APPLIED, "the bot's NetworkPolicy"),
    Access("", "persistentvolumeclaims", APPLIED, "the storage component's claim (spec.storage)"),
    Access("apps", "deployments", APPLY, "a Deployment per component"),
    Access("apps", "deployments", ("list", "watch"), "kopf index of owned Deployments"),
    Access("apps", "deployments", ("delete",), "pruning a component removed from the spec"),
    Access("", "secrets", ("create",), "Kube.create_paper_credentials"),
    Access("", "secrets", ("get",), "Kube.secret_exists (metadata only)"),
    Access("", "pods", ("list", "watch"), "kopf index of owned Pods (health)"),
    Access("", "pods", ("patch",), "granted by the components' Roles"),
    Access(
        "coordination.k8s.io",
        "leases",
        ("get", "create", "update"),
        "granted by the credentials holder's Role",
    ),
)

# Cluster-scoped, for kopf's scanning (rbac.scanning).
SCAN_CRDS = Access("apiextensions.k8s.io", "customresourcedefinitions", ("list", "watch"), "kopf scanning")
SCAN_NAMESPACES = Access("", "namespaces", ("list", "watch"), "kopf scanning of watched namespaces")

# Must never be granted: the operator must not cache or enumerate Secrets.
NEVER: frozenset[Permission] = frozenset({("", "secrets", "list"), ("", "secrets", "watch")})


def permissions(accesses: Iterable[Access]) -> set[Permission]:
    return set().union(*(access.permissions() for access in accesses))


def granted(rules: Iterable[Mapping[str, Any]]) -> set[Permission]:
    """Expand RBAC rules into permissions; rules limited by resourceNames count for nothing here."""
    result: set[Permission] = set()
    for rule in rules:
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            continue
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                result |= {(group, resource, verb) for verb in rule.get("verbs", [])}
    return result


def wildcards(rules: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    fields = ("apiGroups", "resources", "verbs")
    return [rule for rule in rules if any("*" in str(item) for f in fields for item in rule.get(f, []))]
