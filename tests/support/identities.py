"""Component processes with the identity a pod of the bot would have: the bot's ServiceAccount token, not the
admin kubeconfig, so the Role the operator grants the components is what the test exercises.

`token_kubeconfig` writes a kubeconfig for a ServiceAccount's token (from the TokenRequest API).
`grant_component_rbac` creates the two identities the operator makes for a bot (`<bot>-components`, and
`<bot>-credentials` for auth, which alone may use Leases), built by the operator's own planner, for tests that
run components without an operator. `PodIdentities` hands out the environment of each component's pod.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.cluster import LocalCluster
from tradingbot_operator.api.types import ExchangeMode
from tradingbot_operator.planner.desired import BotIdentity, component_rbac

KEY_HOLDER = "auth"  # the one component that runs as `<bot>-credentials`


def token_kubeconfig(
    cluster: LocalCluster, namespace: str, account: str, path: Path, *, duration: str = "1h"
) -> Path:
    """A kubeconfig that authenticates as ServiceAccount `account` with a fresh token, as its pod would."""
    token = cluster.kubectl(
        "create", "token", account, "-n", namespace, f"--duration={duration}"
    ).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": admin["clusters"],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [
                    {"name": "pod", "context": {"cluster": admin["clusters"][0]["name"], "user": account}}
                ],
                "current-context": "pod",
            }
        )
    )
    return path


def grant_component_rbac(cluster: LocalCluster, namespace: str, bot: str) -> None:
    """The ServiceAccounts, Roles and RoleBindings the operator makes for bot `bot` (no owner: no bot object)."""
    identity = BotIdentity(bot, namespace, ExchangeMode.PAPER, f"{bot}-paper-credentials")
    objects = {"apiVersion": "v1", "kind": "List", "items": component_rbac(identity)}
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(objects))


@dataclass(frozen=True)
class PodIdentities:
    """Kubeconfigs for a bot's two component identities, and the pod environment built from them."""

    namespace: str
    bot: str
    components: Path  # `<bot>-components`
    credentials: Path  # `<bot>-credentials`

    @classmethod
    def of(cls, cluster: LocalCluster, namespace: str, bot: str, directory: Path) -> PodIdentities:
        """Tokens for the bot's ServiceAccounts (which must exist: the operator's, or `grant_component_rbac`)."""
        directory.mkdir(parents=True, exist_ok=True)
        return cls(
            namespace,
            bot,
            token_kubeconfig(cluster, namespace, f"{bot}-components", directory / "components.kubeconfig"),
            token_kubeconfig(cluster, namespace, f"{bot}-credentials", directory / "credentials.kubeconfig"),
        )

    def kubeconfig(self, component: str) -> Path:
        return self.credentials if component == KEY_HOLDER else self.components

    def env(self, component: str, pod: str | None = None) -> dict[str, str]:
        """KUBECONFIG of the component's identity and POD_NAMESPACE; POD_NAME when the test names a pod
        (then the process annotates that pod with its config generation)."""
        env = {"KUBECONFIG": str(self.kubeconfig(component)), "POD_NAMESPACE": self.namespace}
        if pod is not None:
            env["POD_NAME"] = pod
        return env
