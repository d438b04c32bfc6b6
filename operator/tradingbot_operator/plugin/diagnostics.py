"""`kubectl tradingbot diagnostics`: a redacted ZIP of everything needed to understand one bot.

Collects the TradingBot, its Deployments, ReplicaSets, Pods, Services, ConfigMaps, the namespace's Events
about them, the names of the Secrets they reference (never Secret data: the Secrets API is not called) and
the operator's view (the status it wrote, rendered, and the operator's own workload where it can be seen).
Every object passes through `redaction.redact_object`. A kind that cannot be listed is noted, not fatal.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tradingbot_operator.api import constants as c
from tradingbot_operator.plugin.errors import ExitCode, PluginError
from tradingbot_operator.plugin.reading import read_bot
from tradingbot_operator.plugin.redaction import SECRET_WORDS, redact_object, referenced_secrets
from tradingbot_operator.plugin.session import Json, Session
from tradingbot_operator.plugin.views import render_health, render_status

OPERATOR_SELECTOR = (
    f"{c.Labels.PART_OF}=tradingbot,{c.Labels.COMPONENT}=operator,{c.Labels.NAME}!={c.Labels.NAME_VALUE}"
)
CHILD_KINDS = ("Deployment", "ReplicaSet", "Pod", "Service", "ConfigMap")


def bot_selector(bot: str) -> str:
    return f"{c.Labels.NAME}={c.Labels.NAME_VALUE},{c.Labels.INSTANCE}={bot}"


def default_path(namespace: str, bot: str, now: datetime) -> Path:
    return Path(f"tradingbot-{namespace}-{bot}-{now.strftime('%Y%m%dT%H%M%SZ')}.zip")


def _event_time(event: Mapping[str, Any]) -> str:
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def related_events(
    events: Iterable[Mapping[str, Any]], bot: str, uids: set[str], other_bots: Sequence[str]
) -> list[Mapping[str, Any]]:
    """Events about the bot or its children, oldest first. Children that are gone (old pods) are matched by
    the `<bot>-` name prefix, unless the name belongs to another bot with a longer matching name."""
    prefix = f"{bot}-"
    others = [f"{other}-" for other in other_bots if other != bot and f"{other}-".startswith(prefix)]
    kept = []
    for event in events:
        involved = event.get("involvedObject") or {}
        name, kind = str(involved.get("name", "")), involved.get("kind")
        ours = involved.get("uid") in uids or (kind == c.KIND and name == bot)
        gone_child = kind in CHILD_KINDS and name.startswith(prefix) and not name.startswith(tuple(others))
        if ours or gone_child:
            kept.append(event)
    return sorted(kept, key=_event_time)


def as_list(kind: str, items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A `kind: List` of redacted objects; list responses omit each item's kind, so it is put back."""
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [redact_object({"kind": kind, **item}) for item in items],
    }


@dataclass
class Report:
    """The files of the ZIP (path -> text) and what could not be collected."""

    files: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add_yaml(self, path: str, data: Any) -> None:
        self.files[path] = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    def try_list(self, what: str, fetch: Callable[[], Json]) -> list[Json]:
        try:
            items: list[Json] = fetch().get("items") or []
        except PluginError as error:
            if error.code is ExitCode.UNREACHABLE:
                raise
            self.problems.append(f"{what}: {error.message}")
            return []
        return items


def _plugin_version() -> str:
    try:
        return importlib.metadata.version("tradingbot-operator")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def collect(session: Session, bot_name: str, now: datetime) -> Report:
    """Fetch and redact; raises only when the bot itself cannot be read."""
    ns, report = session.namespace, Report()
    raw_bot = session.get_bot(bot_name)
    bot = read_bot(raw_bot)
    tradingbot = redact_object({"apiVersion": c.API_VERSION, "kind": c.KIND, **raw_bot})
    report.add_yaml("tradingbot.yaml", tradingbot)

    selector = bot_selector(bot_name)
    listings: dict[str, tuple[str, Callable[..., Any]]] = {
        "deployments": ("Deployment", session.apps.list_namespaced_deployment),
        "replicasets": ("ReplicaSet", session.apps.list_namespaced_replica_set),
        "pods": ("Pod", session.core.list_namespaced_pod),
        "services": ("Service", session.core.list_namespaced_service),
        "configmaps": ("ConfigMap", session.core.list_namespaced_config_map),
    }
    children: list[Json] = []
    for plural, (kind, method) in listings.items():
        items = report.try_list(
            plural,
            lambda m=method, p=plural: session.call(
                m, ns, label_selector=selector, action=f"list {p}", namespace=ns
            ),
        )
        children += [{"kind": kind, **item} for item in items]
        report.add_yaml(f"{plural}.yaml", as_list(kind, items))

    uids = {str((obj.get("metadata") or {}).get("uid")) for obj in [raw_bot, *children]}
    try:
        others = [b["metadata"]["name"] for b in session.list_bots()]
    except PluginError as error:
        report.problems.append(f"tradingbots: {error.message}")
        others = []
    events = report.try_list(
        "events",
        lambda: session.call(session.core.list_namespaced_event, ns, action="list events", namespace=ns),
    )
    report.add_yaml("events.yaml", as_list("Event", related_events(events, bot_name, uids, others)))

    secrets = referenced_secrets([{"kind": c.KIND, **raw_bot}, *children])
    report.add_yaml(
        "secrets.yaml",
        {
            "note": "Secret data is never read; these are the names of the Secrets the bot's objects reference.",
            "secrets": [{"name": name, "referencedBy": refs} for name, refs in secrets.items()],
        },
    )

    report.files["operator/status.txt"] = render_status(bot, now) + "\n"
    report.files["operator/health.txt"] = render_health(bot) + "\n"
    report.add_yaml("operator/status.yaml", tradingbot.get("status") or {})
    for plural, kind, method in (
        ("deployments", "Deployment", session.apps.list_deployment_for_all_namespaces),
        ("pods", "Pod", session.core.list_pod_for_all_namespaces),
    ):
        items = report.try_list(
            f"operator {plural}",
            lambda m=method, p=plural: session.call(
                m, label_selector=OPERATOR_SELECTOR, action=f"list operator {p} in all namespaces"
            ),
        )
        report.add_yaml(f"operator/{plural}.yaml", as_list(kind, items))

    try:
        server = session.server_version()
    except PluginError as error:
        server = f"unknown ({error.message})"
    report.add_yaml(
        "manifest.yaml",
        {
            "bot": bot_name,
            "namespace": ns,
            "collectedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "plugin": f"kubectl-tradingbot {_plugin_version()}",
            "server": {"url": session.server, "version": server},
            "redaction": {
                "secrets": "never fetched; only referenced names are listed (secrets.yaml)",
                "envValuesWithNamesContaining": list(SECRET_WORDS),
                "stripped": [
                    "metadata.managedFields",
                    "*/last-applied-configuration",
                    "*/last-handled-configuration",
                ],
            },
            "files": sorted([*report.files, "manifest.yaml"]),
            "problems": report.problems,
        },
    )
    return report


def write_zip(report: Report, path: Path, folder: str) -> Path:
    """Write the files under one top-level folder, so unzipping never scatters them."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in sorted(report.files.items()):
                archive.writestr(f"{folder}/{name}", text)
    except OSError as error:
        raise PluginError(f"cannot write {path}: {error.strerror or error}", ExitCode.API_ERROR) from None
    return path
