"""The local bot document: read a config file (JSON or YAML) into the TradingBot spec the planner takes.

Two shapes are accepted. A **config document** (the same snake_case document as `spec.config`) with a few
optional local keys beside its sections: `name`, `exchange.mode` (paper | live), `exchange.credentials` (a
directory holding api-key and api-secret; live only), and the spec's `components`, `startup`, `recovery`
and `suspend`. Or a whole **TradingBot manifest** (`kind: TradingBot`), run as the cluster would run it.
Errors name the file, the line where it can be known, and the field path in the file's own terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tradingbot_operator.api.constants import KIND
from tradingbot_operator.api.types import ExchangeMode, TradingBotSpec
from tradingbot_operator.planner.bot import CheckedSpec, check_spec

LOCAL_IMAGE = "local"  # the planner's image argument; a local process runs no image
# Keys of a config document that belong to the spec around `spec.config`, not to the config itself.
SPEC_KEYS = ("components", "startup", "recovery", "suspend")
LOCAL_EXCHANGE_KEYS = ("mode", "credentials")
_NAME = re.compile(r"[^a-z0-9-]+")


class DocumentProblem(ValueError):
    """A config file that cannot be run; `str()` lists every problem as `file:line: path: reason`."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class LocalBot:
    """What one config file asks for: the bot's name, its spec (as the API would hold it) and where the
    live credentials are. `spec` is camelCase around a snake_case `config`, exactly like `TradingBot.spec`."""

    name: str
    spec: dict[str, Any]
    source: Path
    credentials: Path | None = None  # live mode: the directory with api-key and api-secret
    manifest: bool = False  # the file was a TradingBot manifest

    @property
    def mode(self) -> ExchangeMode:
        return ExchangeMode((self.spec.get("exchange") or {}).get("mode", ExchangeMode.PAPER.value))

    @property
    def config(self) -> dict[str, Any]:
        """The bot's own config document (what `spec.config` holds)."""
        return dict(self.spec.get("config") or {})


def bot_name(text: str) -> str:
    """A DNS label from a file stem or a user's name: `Kraken Main.yaml` -> `kraken-main`."""
    name = _NAME.sub("-", text.lower()).strip("-")[:40].strip("-")
    if not name or not name[0].isalpha():
        name = f"bot-{name}".strip("-")
    return name


def parse_text(text: str, path: Path) -> Any:
    """JSON for `*.json`, YAML otherwise; a syntax error names the line and column."""
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise DocumentProblem(
            path, [f"{path}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}"]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise DocumentProblem(path, [f"{where}: invalid YAML: {detail}"]) from None


def to_spec(document: Mapping[str, Any], path: Path) -> tuple[str | None, dict[str, Any], Path | None, bool]:
    """(name, spec, credentials, manifest) from a parsed document; raises DocumentProblem for wrong shapes."""
    if not isinstance(document, Mapping):
        raise DocumentProblem(
            path, [f"{path}: the top level must be a mapping, got {type(document).__name__}"]
        )
    if document.get("kind") == KIND or "apiVersion" in document:
        manifest_spec = document.get("spec")
        if not isinstance(manifest_spec, Mapping):
            raise DocumentProblem(path, [f"{path}: spec: a TradingBot manifest needs a spec mapping"])
        manifest_name = (document.get("metadata") or {}).get("name")
        return (str(manifest_name) if manifest_name else None), dict(manifest_spec), None, True
    config = {k: v for k, v in document.items() if k not in (*SPEC_KEYS, "name")}
    spec: dict[str, Any] = {k: document[k] for k in SPEC_KEYS if k in document}
    exchange = config.get("exchange")
    credentials: Path | None = None
    if isinstance(exchange, Mapping):
        local = {k: exchange[k] for k in LOCAL_EXCHANGE_KEYS if k in exchange}
        config["exchange"] = {k: v for k, v in exchange.items() if k not in LOCAL_EXCHANGE_KEYS}
        if "mode" in local:
            spec["exchange"] = {"mode": local["mode"]}
        if local.get("credentials") is not None:
            credentials = (path.parent / str(local["credentials"])).expanduser()
    spec["config"] = config
    name = document.get("name")
    return (str(name) if name is not None else None), spec, credentials, False


def local_path(spec_path: str, manifest: bool) -> str:
    """A planner field path (`spec.config.trading.profit_target`) in the file's own terms."""
    if manifest:
        return spec_path
    for prefix, replacement in (("spec.config.", ""), ("spec.exchange.", "exchange."), ("spec.", "")):
        if spec_path.startswith(prefix):
            return replacement + spec_path[len(prefix) :]
    return spec_path


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def line_of(text: str, field_path: str) -> int | None:
    """The 1-based line of a field (`components[0].dependsOn`) in YAML or JSON text, when it can be found.

    A path ends where the document ends: an error on a missing field points at its parent.
    """
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key, index in _SEGMENT.findall(field_path):
        if node is None:
            break
        if index and isinstance(node, yaml.SequenceNode):
            position = int(index)
            node = node.value[position] if position < len(node.value) else None
        elif key and isinstance(node, yaml.MappingNode):
            names = {key, _camel(key), _snake(key)}
            node = next((v for k, v in node.value if getattr(k, "value", None) in names), None)
        else:
            node = None
        if node is not None:
            line = node.start_mark.line + 1
    return line


def load(path: Path, *, name: str | None = None, credentials: Path | None = None) -> LocalBot:
    """Read, convert and validate a config file (schema and dependency graph, as the planner will).

    Raises DocumentProblem listing every problem as `file:line: field: reason`; nothing is started."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DocumentProblem(path, [f"{path}: cannot read: {error.strerror or error}"]) from None
    parsed = parse_text(text, path)
    if parsed is None:
        parsed = {}
    found_name, spec, found_credentials, manifest = to_spec(parsed, path)
    checked = check_spec(spec, LOCAL_IMAGE)
    if not isinstance(checked, CheckedSpec):
        problems = []
        for problem in checked:
            where = local_path(problem.path, manifest)
            line = line_of(text, where)
            problems.append(f"{path}:{line}: {where}: {problem.message}" if line else f"{path}: {problem}")
        raise DocumentProblem(path, problems)
    credentials = credentials or found_credentials
    if checked.spec.exchange.mode is ExchangeMode.LIVE:
        missing = live_credentials_problem(credentials)
        if missing:
            line = line_of(text, "spec.exchange.mode" if manifest else "exchange.mode")
            raise DocumentProblem(path, [f"{path}:{line}: exchange.mode: live: {missing}"])
        # The planner asks for a Secret name in live mode; locally the directory stands for it.
        spec["exchange"] = {**spec.get("exchange", {}), "credentialsSecret": "local-credentials"}
    return LocalBot(
        name=bot_name(name or found_name or path.stem),
        spec=_one_replica(spec, checked.spec),
        source=path.resolve(),
        credentials=credentials.resolve() if credentials else None,
        manifest=manifest,
    )


def live_credentials_problem(credentials: Path | None) -> str | None:
    if credentials is None:
        return (
            "needs a credentials directory holding api-key and api-secret "
            "(exchange.credentials in the file, or --credentials DIR)"
        )
    missing = [f for f in ("api-key", "api-secret") if not (credentials / f).is_file()]
    if missing:
        return f"credentials directory {credentials} lacks {', '.join(missing)}"
    return None


def _one_replica(spec: dict[str, Any], checked: TradingBotSpec) -> dict[str, Any]:
    """A local component is one process on one port: replicas above 1 run as 1 (0 stays 0)."""
    components = []
    for raw, parsed in zip(spec.get("components") or [], checked.components, strict=True):
        if parsed.replicas is not None and parsed.replicas > 1:
            raw = {k: v for k, v in raw.items() if k != "replicas"} | {"replicas": 1}
        components.append(raw)
    if components:
        spec = {**spec, "components": components}
    return spec
