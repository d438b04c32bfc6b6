"""Desired Kubernetes objects for a bot: ConfigMap, RBAC for components, Services, NetworkPolicy, Deployments.

Pure builders returning plain dicts. Every object carries the standard labels, and an applied-hash
annotation so the reconciler can tell, without a diff, whether the live object already matches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradingbot_operator.api.constants import API_VERSION, KIND, Annotations, Labels
from tradingbot_operator.api.types import ExchangeMode, ReclaimPolicy, StorageSpec, StorageVolume
from tradingbot_operator.planner.catalog import ComponentPlan
from tradingbot_operator.planner.config import digest

CONFIG_DIR = "/etc/tradingbot"
CONFIG_FILE = "config.json"
CREDENTIALS_DIR = "/var/run/secrets/tradingbot"
DATA_DIR = "/var/lib/tradingbot"
RUN_AS = 10001


@dataclass(frozen=True)
class BotIdentity:
    name: str
    namespace: str
    mode: ExchangeMode
    credentials_secret: str | None  # live: the user's Secret; paper: the operator-made one
    uid: str = ""  # the TradingBot's uid: every child is owned by it and garbage-collected with it

    def child(self, component: str) -> str:
        return f"{self.name}-{component}"

    @property
    def config_map(self) -> str:
        return f"{self.name}-config"

    @property
    def service_account(self) -> str:
        """The identity of every component that holds no credentials."""
        return f"{self.name}-components"

    @property
    def credentials_service_account(self) -> str:
        """The identity of the component that holds the API key (auth): it alone may use Leases."""
        return f"{self.name}-credentials"

    @property
    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def labels(bot: BotIdentity, component: str | None = None, phase: str | None = None) -> dict[str, str]:
    result = {
        Labels.NAME: Labels.NAME_VALUE,
        Labels.INSTANCE: bot.name,
        Labels.MANAGED_BY: Labels.MANAGED_BY_VALUE,
        Labels.PART_OF: "tradingbot",
    }
    if component:
        result[Labels.COMPONENT] = component
    if phase:
        result[Labels.PHASE] = phase
    return result


def selector(bot: BotIdentity, component: str) -> dict[str, str]:
    return {Labels.NAME: Labels.NAME_VALUE, Labels.INSTANCE: bot.name, Labels.COMPONENT: component}


def stamp(obj: dict[str, Any]) -> dict[str, Any]:
    """Add the applied-hash annotation (a hash of everything else) and return the object."""
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {}).pop(Annotations.APPLIED_HASH, None)
    meta["annotations"][Annotations.APPLIED_HASH] = digest(obj)
    return obj


def _meta(
    bot: BotIdentity, name: str, component: str | None = None, phase: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": bot.namespace, "labels": labels(bot, component, phase)}
    if bot.uid:
        meta["ownerReferences"] = [bot.owner_reference]
    return meta


def config_map(bot: BotIdentity, document: Mapping[str, Any], generation: int) -> dict[str, Any]:
    meta = _meta(bot, bot.config_map)
    meta["annotations"] = {Annotations.CONFIG_GENERATION: str(generation)}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {CONFIG_FILE: json.dumps(document, indent=2, sort_keys=True)},
    }
    return stamp(body)


def _reads_own_config(bot: BotIdentity) -> list[dict[str, Any]]:
    """Components watch their bot's ConfigMap (sub-second reloads) and annotate their own Pod with the config
    generation they run. Only that ConfigMap: resourceNames also limits list and watch (by field selector)."""
    return [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [bot.config_map],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["patch"]},
    ]


# The key holder's single-writer claim. The Lease is named after the API key's id, which the operator never
# learns (it never reads the Secret), and RBAC cannot limit `create` by name anyway: so no resourceNames here.
_LEASE_RULE = {
    "apiGroups": ["coordination.k8s.io"],
    "resources": ["leases"],
    "verbs": ["get", "create", "update"],
}


def _identity(bot: BotIdentity, account: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ServiceAccount, a Role with `rules` and the RoleBinding between them, all named `account`."""
    return [
        stamp({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(bot, account)}),
        stamp(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(bot, account),
                "rules": rules,
            }
        ),
        stamp(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta(bot, account),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": bot.namespace}],
            }
        ),
    ]


def component_rbac(bot: BotIdentity) -> list[dict[str, Any]]:
    """Two identities per bot: the components, and the credentials holder (auth), which also gets Leases."""
    return [
        *_identity(bot, bot.service_account, _reads_own_config(bot)),
        *_identity(bot, bot.credentials_service_account, [*_reads_own_config(bot), _LEASE_RULE]),
    ]


def network_policy(bot: BotIdentity) -> dict[str, Any]:
    """Only the bot's own pods may talk to its components; egress (the exchange) stays open."""
    return stamp(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta(bot, bot.name),
            "spec": {
                "podSelector": {"matchLabels": {Labels.INSTANCE: bot.name, Labels.NAME: Labels.NAME_VALUE}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {Labels.INSTANCE: bot.name}}}]}],
            },
        }
    )


def data_claim_name(bot: BotIdentity, plan: ComponentPlan) -> str:
    return f"{bot.child(plan.name)}-data"


def data_claim(bot: BotIdentity, plan: ComponentPlan, storage: StorageSpec) -> dict[str, Any] | None:
    """The PersistentVolumeClaim of a component that keeps data (storage), None when it uses an emptyDir.

    Reclaim is ownership: with Delete the bot owns the claim and garbage collection removes it with the bot;
    with Retain it has no owner, outlives the bot, and a bot of the same name applies (adopts) it again.
    """
    if not plan.needs_data_volume or storage.volume is not StorageVolume.PERSISTENT_VOLUME_CLAIM:
        return None
    meta = _meta(bot, data_claim_name(bot, plan), plan.name)
    if storage.reclaim is ReclaimPolicy.RETAIN:
        meta.pop("ownerReferences", None)
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class_name:
        spec["storageClassName"] = storage.storage_class_name
    return stamp({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec})


def service(bot: BotIdentity, plan: ComponentPlan) -> dict[str, Any]:
    return stamp(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(bot, bot.child(plan.name), plan.name, plan.phase.value),
            "spec": {
                "type": "ClusterIP",
                "selector": selector(bot, plan.name),
                "ports": [{"name": "http", "port": plan.port, "targetPort": "http", "protocol": "TCP"}],
            },
        }
    )


def _container(bot: BotIdentity, plan: ComponentPlan) -> dict[str, Any]:
    mounts: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if plan.builtin:
        args = [
            plan.name,
            "--config",
            f"{CONFIG_DIR}/{CONFIG_FILE}",
            "--configmap",
            f"{bot.namespace}/{bot.config_map}",
            "--port",
            str(plan.port),
            *plan.args,  # the component's own options, e.g. the trader's --strategy
        ]
    else:
        args = list(plan.args)
    if _mounts_credentials(bot, plan):
        mounts.append({"name": "credentials", "mountPath": CREDENTIALS_DIR, "readOnly": True})
        if plan.builtin:
            args += ["--credentials", CREDENTIALS_DIR]
    if plan.needs_data_volume:
        mounts.append({"name": "data", "mountPath": DATA_DIR})
    env = [
        {"name": "TRADINGBOT_COMPONENT", "value": plan.name},
        {"name": "TRADINGBOT_CONFIG", "value": f"{CONFIG_DIR}/{CONFIG_FILE}"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        *({"name": k, "value": v} for k, v in plan.env),
    ]
    probe = {"periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3}
    return {
        "name": plan.name,
        "image": plan.image,
        "imagePullPolicy": "IfNotPresent",
        # Built-in components name their entry point explicitly, whatever the image's ENTRYPOINT is.
        **({"command": ["tradingbot-component"]} if plan.builtin else {}),
        "args": args,
        "env": env,
        "ports": [{"name": "http", "containerPort": plan.port, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}, **probe},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, **probe, "periodSeconds": 5},
        "resources": dict(plan.resources),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }


def _mounts_credentials(bot: BotIdentity, plan: ComponentPlan) -> bool:
    # auth holds the keys; in paper mode the simulator needs the same account to verify signatures.
    return plan.mounts_credentials or (bot.mode == ExchangeMode.PAPER and plan.name == "exchange-sim")


def deployment(
    bot: BotIdentity,
    plan: ComponentPlan,
    replicas: int,
    config_hash: str,
    restarted_at: str | None,
    progress_deadline: int,
    started_by: int | None = None,
    storage: StorageSpec | None = None,
) -> dict[str, Any]:
    """`started_by`: the startup attempt that scaled the component up (kept on the Deployment, see lifecycle);
    `storage`: where a component that keeps data keeps it (default: a claim, see `data_claim`)."""
    template_annotations = {Annotations.CONFIG_HASH: config_hash}
    if restarted_at:
        template_annotations[Annotations.RESTARTED_AT] = restarted_at
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": bot.config_map}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if _mounts_credentials(bot, plan) and bot.credentials_secret:
        volumes.append(
            {"name": "credentials", "secret": {"secretName": bot.credentials_secret, "defaultMode": 0o400}}
        )
    if plan.needs_data_volume:
        if (storage or StorageSpec()).volume is StorageVolume.PERSISTENT_VOLUME_CLAIM:
            volumes.append(
                {"name": "data", "persistentVolumeClaim": {"claimName": data_claim_name(bot, plan)}}
            )
        else:
            volumes.append({"name": "data", "emptyDir": {}})
    pod_spec: dict[str, Any] = {
        "serviceAccountName": (
            bot.credentials_service_account if plan.mounts_credentials else bot.service_account
        ),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "containers": [_container(bot, plan)],
        "volumes": volumes,
    }
    if plan.node_selector:
        pod_spec["nodeSelector"] = dict(plan.node_selector)
    if plan.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in plan.tolerations]
    # Single writers (nonce sequencer, SQLite file) must never overlap during a rollout.
    single_writer = plan.name in ("auth", "storage")
    meta = _meta(bot, bot.child(plan.name), plan.name, plan.phase.value)
    if started_by is not None:
        meta["annotations"] = {Annotations.STARTED_BY: str(started_by)}
    return stamp(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "revisionHistoryLimit": 3,
                "progressDeadlineSeconds": progress_deadline,
                "strategy": {"type": "Recreate"} if single_writer else {"type": "RollingUpdate"},
                "selector": {"matchLabels": selector(bot, plan.name)},
                "template": {
                    "metadata": {
                        "labels": labels(bot, plan.name, plan.phase.value),
                        "annotations": template_annotations,
                    },
                    "spec": pod_spec,
                },
            },
        }
    )
