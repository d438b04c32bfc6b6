"""Run an operator-made bot's components as real local processes, exactly as its Deployments say.

Each component starts with the command and args of its Deployment (read from the API), reading the
operator-made ConfigMap through the API; only what a pod would get from the node is replaced: 127.0.0.1
ports for the Service addresses, a temp dir for the mounted volumes, and the identity (the token of the
ServiceAccount the operator made for the component) and downward-API variables of one of its pods.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.bots import Bots
from tests.support.identities import PodIdentities
from tradingbot_components.config import COMPONENT_NAMES

PHASE_ORDER = list(COMPONENT_NAMES)  # built-in components, in startup order
ENDPOINT_OF = {
    "storage": ("TRADINGBOT_ENDPOINTS_STORAGE", "http://127.0.0.1:{port}"),
    "auth": ("TRADINGBOT_ENDPOINTS_AUTH", "http://127.0.0.1:{port}"),
    "gateway": ("TRADINGBOT_ENDPOINTS_GATEWAY", "http://127.0.0.1:{port}"),
    "market-data": ("TRADINGBOT_ENDPOINTS_MARKET_DATA", "ws://127.0.0.1:{port}/stream"),
    "balance-manager": ("TRADINGBOT_ENDPOINTS_BALANCE_MANAGER", "http://127.0.0.1:{port}"),
    "portfolio": ("TRADINGBOT_ENDPOINTS_PORTFOLIO", "http://127.0.0.1:{port}"),
}


def local_args(container: Mapping[str, Any], credentials: Path) -> list[str]:
    """The Deployment's args with the node-side paths and port swapped for local ones."""
    args, out = list(container["args"]), []
    i = 0
    while i < len(args):
        if args[i] == "--config":  # the kubelet-mounted file: the API watch (--configmap) is the source here
            i += 2
            continue
        if args[i] == "--port":  # the test runner picks a free port
            i += 2
            continue
        if args[i] == "--credentials":
            out += ["--credentials", str(credentials)]
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def write_credentials(bots: Bots, secret: str, directory: Path) -> Path:
    """The Secret's keys as files, as the kubelet would mount them."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in (bots.core.read_namespaced_secret(secret, bots.namespace).data or {}).items():
        (directory / key).write_bytes(base64.b64decode(value))
    return directory


def deployments_of(bots: Bots, bot: str) -> dict[str, Any]:
    return {
        d.metadata.labels["app.kubernetes.io/component"]: d
        for d in bots.apps.list_namespaced_deployment(
            bots.namespace, label_selector=f"app.kubernetes.io/instance={bot}"
        ).items
    }


def pod_identity(bots: Bots, bot: str, directory: Path) -> Callable[[str, Any], Mapping[str, str]]:
    """`env_for` that gives each component its pod's identity: the operator-made ServiceAccount's token
    (`<bot>-credentials` for auth, `<bot>-components` for the rest), and the name of a pod of its Deployment."""
    identities = PodIdentities.of(bots.cluster, bots.namespace, bot, directory)

    def env_for(component: str, deployment: Any) -> Mapping[str, str]:
        selector = ",".join(f"{k}={v}" for k, v in deployment.spec.selector.match_labels.items())
        pod = bots.core.list_namespaced_pod(bots.namespace, label_selector=selector).items[0]
        return identities.env(component, pod.metadata.name)

    return env_for


def start_components(
    runner: ComponentRunner,
    bots: Bots,
    bot: str,
    workdir: Path,
    credentials: Path,
    env_for: Callable[[str, Any], Mapping[str, str]] | None = None,
) -> dict[str, ComponentProcess]:
    """Start the bot's components in phase order, each Ready before the next; `env_for(component, deployment)`
    gives per-component variables (identity, pod name), by default `pod_identity`'s. Returns the processes by
    component."""
    deployments = deployments_of(bots, bot)
    assert sorted(deployments) == sorted(PHASE_ORDER)
    if env_for is None:
        env_for = pod_identity(bots, bot, workdir / "identities")
    env = {
        "TRADINGBOT_RUNTIME_DIR": str(workdir / "runtime"),
        "TRADINGBOT_STORAGE_SQLITE_PATH": str(workdir / "storage.db"),
    }
    started: dict[str, ComponentProcess] = {}
    for name in PHASE_ORDER:
        container = deployments[name].spec.template.spec.containers[0].to_dict()
        assert container["command"] == ["tradingbot-component"]
        component, *args = local_args(container, credentials)
        assert component == name
        for variable in container.get("env") or []:
            if (
                variable.get("value") is not None
                and variable["name"].startswith("TRADINGBOT_")
                and variable["name"] != "TRADINGBOT_CONFIG"
            ):
                env.setdefault(variable["name"], variable["value"])
        extra = dict(env_for(name, deployments[name]))
        process = runner.start(component, *args, env={**env, **extra})
        process.wait_ready(timeout=60)
        started[name] = process
        if name == "exchange-sim":
            env["TRADINGBOT_ENDPOINTS_EXCHANGE_REST"] = process.url("")
            env["TRADINGBOT_ENDPOINTS_EXCHANGE_WS"] = f"ws://127.0.0.1:{process.port}/v2"
        elif name in ENDPOINT_OF:
            variable, template = ENDPOINT_OF[name]
            env[variable] = template.format(port=process.port)
    return started
