"""`tradingbot run CONFIG --diagnostics [ZIP]`: a redacted report of a local bot, like the cluster's
`kubectl tradingbot diagnostics`, in the same ZIP layout (one top-level folder).

    summary.md             versions, health, preflight verdicts, overridden config values and where they come from
    manifest.json          versions, files, what was redacted
    status.txt, health.txt the plugin's views of the bot;  report.json  the runner's report (status included)
    config/effective.json  the document the components run;  config/sources.json  file / env / runner / default
    components/NAME.json   each component's /healthz;  logs/NAME.log  the last lines of its log
    alerts.json            recent alerts;  preflight.json  the Kraken checks with a verdict each

Secrets never enter it: config documents pass the plugin's redaction, secret fields are the schema's `***`,
and every log line is scrubbed of the credential values as a last guard.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import platform
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradingbot_components.config import BotConfig
from tradingbot_components.config.changes import POLICIES, leaves
from tradingbot_operator.dashboard.model import parse_metrics, total
from tradingbot_operator.local.alerts import read_alerts
from tradingbot_operator.local.control import ControlClient
from tradingbot_operator.local.document import parse_text, to_spec
from tradingbot_operator.local.health import render_status, view_of
from tradingbot_operator.local.preflight import Check, http_json, run_preflight
from tradingbot_operator.local.statedir import StateDir
from tradingbot_operator.plugin.diagnostics import Report, write_zip
from tradingbot_operator.plugin.redaction import REDACTED, looks_secret, redact_document
from tradingbot_operator.plugin.views import render_health

LOG_LINES = 300
VERDICT_MARK = {"ok": "OK", "warning": "WARNING", "fail": "FAIL", "skipped": "skipped"}


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("tradingbot-operator", "aiohttp", "pydantic", "textual", "websockets"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _get(url: str) -> Any:
    try:
        return http_json(url)
    except (OSError, ValueError) as error:
        return {"error": f"unreachable: {error}"}


def _text(url: str) -> str:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def field_sources(
    effective: Mapping[str, Any], file_config: Mapping[str, Any], env: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every field of the effective document with where its value comes from: env (the variable), file,
    runner (a local port or path the runner filled in) or default."""
    defaults = leaves(BotConfig())
    given = leaves(BotConfig.model_validate(file_config)) if file_config else {}
    rows = []
    for path, value in leaves(BotConfig.model_validate(effective)).items():
        section, key = path.split(".", 1)
        in_file = key in (file_config.get(section) or {})
        if path in env:
            source = f"env {env[path]}"
        elif in_file and given.get(path) == value:
            source = "file"
        elif value != defaults.get(path):
            source = "runner"
        else:
            source = "default"
        shown = REDACTED if POLICIES[path].secret or looks_secret(key) else value
        rows.append({"path": path, "value": shown, "source": source})
    return rows


def _scrubber(directories: Iterable[Path | None]) -> list[str]:
    values = []
    for directory in directories:
        for name in ("api-key", "api-secret"):
            if directory is not None and (directory / name).is_file():
                value = (directory / name).read_text(encoding="utf-8").strip()
                if len(value) >= 8:
                    values.append(value)
    return values


def _scrub(text: str, values: list[str]) -> str:
    for value in values:
        text = text.replace(value, REDACTED)
    return text


def _tail(path: Path, lines: int = LOG_LINES) -> str:
    try:
        content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(content[-lines:]) + "\n"


def build(report: Mapping[str, Any], state: StateDir, credentials: Path | None = None) -> Report:
    """Collect everything about a running local bot into a redacted Report (blocking HTTP calls)."""
    now = datetime.now(UTC)
    out = Report()
    scrub_values = _scrubber([state.credentials, credentials])
    urls = {name: row.get("url") for name, row in (report.get("components") or {}).items()}
    effective = json.loads(state.config_file.read_text()) if state.config_file.exists() else {}

    health: dict[str, Any] = {}
    env: dict[str, str] = {}
    for name, url in urls.items():
        if not url:
            continue
        health[name] = _get(f"{url}/healthz")
        env.update(((health[name] or {}).get("config") or {}).get("env_overrides") or {})
        out.files[f"components/{name}.json"] = json.dumps(redact_document(health[name]), indent=1) + "\n"
        out.files[f"logs/{name}.log"] = _scrub(_tail(state.log_file(name)), scrub_values)

    file_config: dict[str, Any] = {}
    source = Path(str(report.get("configFile", "")))
    try:
        _name, spec, _credentials, _manifest = to_spec(parse_text(source.read_text(), source), source)
        file_config = spec.get("config") or {}
    except Exception as error:  # the file may be broken right now; the bot runs its last good version
        out.problems.append(f"config file {source}: {error}")
    try:
        sources = field_sources(effective, file_config, env)
    except Exception as error:
        out.problems.append(f"config sources: {error}")
        sources = []
    rate_limited = None
    if urls.get("gateway"):
        samples = parse_metrics(_text(f"{urls['gateway']}/metrics"))
        rate_limited = total(samples, "tradingbot_gateway_calls_total", outcome="rate_limited")
    checks = run_preflight(effective, urls, health, rate_limited)
    alerts = read_alerts(state.alerts_file, 50)

    bot = view_of(report)
    out.files["status.txt"] = render_status(report) + "\n"
    out.files["health.txt"] = render_health(bot) + "\n"
    out.files["report.json"] = json.dumps(redact_document(report), indent=1) + "\n"
    out.files["config/effective.json"] = (
        json.dumps(redact_document(effective), indent=1, sort_keys=True) + "\n"
    )
    out.files["config/sources.json"] = json.dumps(sources, indent=1) + "\n"
    out.files["alerts.json"] = json.dumps(alerts, indent=1) + "\n"
    out.files["preflight.json"] = json.dumps([c.to_dict() for c in checks], indent=1) + "\n"
    out.files["events.log"] = _scrub(_tail(state.events_file, 500), scrub_values)
    versions = _versions()
    out.files["summary.md"] = summary(report, bot.status.health, versions, checks, sources, alerts, now)
    out.files["manifest.json"] = (
        json.dumps(
            {
                "bot": report.get("name"),
                "collectedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "versions": versions,
                "redaction": {
                    "credentials": "never copied; log lines are scrubbed of their values",
                    "config": "secret fields as the schema marks them, and keys containing "
                    + ", ".join(("KEY", "SECRET", "TOKEN", "PASSWORD", "DSN")),
                },
                "files": sorted([*out.files, "manifest.json"]),
                "problems": out.problems,
            },
            indent=1,
        )
        + "\n"
    )
    return out


def summary(
    report: Mapping[str, Any],
    health: object,
    versions: Mapping[str, str],
    checks: list[Check],
    sources: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    now: datetime,
) -> str:
    status = report.get("status") or {}
    lines = [
        f"# Diagnostics of local bot `{report.get('name')}`",
        "",
        f"Collected {now.strftime('%Y-%m-%d %H:%M:%SZ')}: {status.get('phase', '-')}, {health}, "
        f"{status.get('ready', '-')} ready, startup {status.get('startupPhase') or '-'}; "
        f"mode {report.get('mode')}, config generation {(status.get('config') or {}).get('generation', '-')}.",
        "",
        "## Versions",
        "",
        *(f"- {name}: {version}" for name, version in versions.items()),
        "",
        "## Kraken preflight",
        "",
        "| check | verdict | detail |",
        "|---|---|---|",
        *(f"| {c.name} | {VERDICT_MARK.get(c.verdict, c.verdict)} | {c.detail} |" for c in checks),
        "",
        "## Components",
        "",
        "| component | state | health | reason | root cause | restarts | config gen |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['name']} | {r.get('state')} | {r.get('health')} | {r.get('reason') or '-'} | "
            f"{r.get('rootCause') or '-'} | {r.get('restarts', 0)} | {r.get('configGeneration', '-')} |"
            for r in status.get("components") or []
        ),
        "",
        "## Config values set by the file, the environment or the runner",
        "",
        "| field | value | source |",
        "|---|---|---|",
        *(
            f"| `{row['path']}` | `{json.dumps(row['value'])}` | {row['source']} |"
            for row in sources
            if row["source"] != "default"
        ),
        "",
        "## Recent alerts (newest first)",
        "",
        *(
            f"- {a.get('time')} {a.get('severity')} {a.get('component')} {a.get('reason')}: {a.get('message')}"
            for a in alerts[:20]
        ),
    ]
    if report.get("rejection"):
        lines += ["", "## Config file rejected", "", str(report["rejection"])]
    return "\n".join(lines) + "\n"


def _write(out: Report, path: Path) -> int:
    written = write_zip(out, path, folder=path.name.removesuffix(".zip"))
    for problem in out.problems:
        print(f"warning: not collected: {problem}")
    print(written.resolve())
    return 0


async def collect_running(client: ControlClient, state: StateDir, path: Path) -> int:
    report = await asyncio.to_thread(client.report)
    out = await asyncio.to_thread(build, report, state)
    return _write(out, path)


async def collect_session(session: Any, path: Path) -> int:
    runner = session.runner
    out = await asyncio.to_thread(build, runner.report, runner.state, runner.bot.credentials)
    return _write(out, path)
