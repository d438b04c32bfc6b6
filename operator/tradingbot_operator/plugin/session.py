"""The plugin's connection to the API server: kubeconfig resolution and the few calls the commands make.

Every call returns the server's JSON as plain data (exactly what `kubectl get -o json` shows) and turns API
and transport failures into PluginErrors. The plugin never reads Secrets: there is no method for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from tradingbot_operator.api import constants as c
from tradingbot_operator.plugin.errors import ExitCode, PluginError, classify_api_error

REQUEST_TIMEOUT = 30.0
MERGE_PATCH = "application/merge-patch+json"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

Json = dict[str, Any]


@dataclass
class Session:
    """An API client and the namespace commands act in (from -n, else the context, else "default")."""

    api: client.ApiClient
    namespace: str

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    def close(self) -> None:
        self.api.close()

    def call(
        self,
        method: Callable[..., Any],
        *args: Any,
        action: str,
        namespace: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Json:
        """Call a generated API method and return the response body as JSON, or raise a PluginError."""
        try:
            response = method(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except client.ApiException as error:
            raise classify_api_error(
                error.status or 0, error.body, action=action, namespace=namespace, name=name
            ) from None
        except urllib3.exceptions.HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise PluginError(
                f"cannot reach the API server at {self.server}: {reason}", ExitCode.UNREACHABLE
            ) from None
        body: Json = json.loads(response.data or b"{}")
        return body

    def server_version(self) -> str:
        version = self.call(client.VersionApi(self.api).get_code, action="get the server version")
        return str(version.get("gitVersion", "unknown"))

    # TradingBots

    def get_bot(self, name: str) -> Json:
        return self.call(
            self.custom.get_namespaced_custom_object,
            c.GROUP,
            c.VERSION,
            self.namespace,
            c.PLURAL,
            name,
            action="get TradingBot",
            namespace=self.namespace,
            name=name,
        )

    def list_bots(self, all_namespaces: bool = False) -> list[Json]:
        if all_namespaces:
            listing = self.call(
                self.custom.list_cluster_custom_object,
                c.GROUP,
                c.VERSION,
                c.PLURAL,
                action="list TradingBots in all namespaces",
            )
        else:
            listing = self.call(
                self.custom.list_namespaced_custom_object,
                c.GROUP,
                c.VERSION,
                self.namespace,
                c.PLURAL,
                action="list TradingBots",
                namespace=self.namespace,
            )
        items: list[Json] = listing.get("items") or []
        return items

    def patch_bot(self, name: str, patch: Mapping[str, Any]) -> Json:
        """JSON merge patch of the TradingBot (metadata only: the spec is the user's, the status the operator's)."""
        return self.call(
            self.custom.patch_namespaced_custom_object,
            c.GROUP,
            c.VERSION,
            self.namespace,
            c.PLURAL,
            name,
            dict(patch),
            action="patch TradingBot",
            namespace=self.namespace,
            name=name,
            _content_type=MERGE_PATCH,
        )


def _context_namespace(kubeconfig: str | None, context: str | None) -> str | None:
    """The namespace the chosen context sets, if any; an unknown context is an error listing the known ones."""
    contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    names = [ctx["name"] for ctx in contexts]
    chosen = next((ctx for ctx in contexts if ctx["name"] == context), None) if context else current
    if chosen is None:
        raise PluginError(
            f"context {context!r} not found in the kubeconfig; contexts: {', '.join(names) or 'none'}",
            ExitCode.UNREACHABLE,
        )
    namespace: str | None = (chosen.get("context") or {}).get("namespace")
    return namespace


def connect(
    kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None
) -> Session:
    """Resolve credentials the way kubectl does: --kubeconfig, else $KUBECONFIG, else ~/.kube/config,
    else the pod's service account when running in a cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
    in_cluster = kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ
    if not any(Path(p).expanduser().exists() for p in path.split(os.pathsep) if p) and in_cluster:
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as error:
            raise PluginError(
                f"cannot use the in-cluster service account: {error}", ExitCode.UNREACHABLE
            ) from None
        default = (
            SERVICE_ACCOUNT_NAMESPACE.read_text().strip() if SERVICE_ACCOUNT_NAMESPACE.exists() else None
        )
        return Session(client.ApiClient(configuration), namespace or default or "default")
    try:
        context_namespace = _context_namespace(kubeconfig, context)
        api = config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError) as error:
        raise PluginError(f"cannot load the kubeconfig ({path}): {error}", ExitCode.UNREACHABLE) from None
    return Session(api, namespace or context_namespace or "default")
