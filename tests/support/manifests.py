"""Hypothesis strategies for TradingBot manifests, valid and invalid, each with the verdict it must get.

A case is a valid spec (random values inside every documented range) plus zero or more faults. Each fault
knows the field path that must be named and who must catch it: the API server at admission (schema, CEL,
strict field validation) or the operator (`ConfigValid=False`: what the schema cannot express, such as
dependsOn problems). The oracle is this table of faults, not the operator's own models.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tradingbot_operator.planner.catalog import BUILTINS

DEFAULTS = {name: builtin.phase.value for name, builtin in BUILTINS.items()}  # component -> phase
PHASES = ["Core", "Infrastructure", "Auth", "Network", "Services"]
RANK = {phase: i for i, phase in enumerate(PHASES)}


class Stage(enum.StrEnum):
    ADMISSION = "admission"  # the API server refuses the object
    OPERATOR = "operator"  # admitted; the operator marks ConfigValid=False and creates nothing


@dataclass(frozen=True)
class Fault:
    stage: Stage
    paths: tuple[str, ...]  # any of these field paths names the fault (e.g. the first member of a cycle)
    what: str  # for reports

    def named_in(self, message: str) -> bool:
        return any(path in message for path in self.paths)


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    faults: tuple[Fault, ...]

    @property
    def admission_faults(self) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.stage is Stage.ADMISSION)

    @property
    def operator_faults(self) -> tuple[Fault, ...]:
        return tuple(f for f in self.faults if f.stage is Stage.OPERATOR)

    def manifest(self, name: str) -> dict[str, Any]:
        return {
            "apiVersion": "tradingbot.dev/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": name},
            "spec": self.spec,
        }


# --- valid specs -------------------------------------------------------------------------------------------

dns_label = st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z")
quantity = st.sampled_from(["50m", "100m", "1", "64Mi", "128Mi", "1Gi", "0.5"])
pair = st.sampled_from(["XBT/USD", "ETH/USD", "SOL/USD", "ADA/EUR", "DOT/USD", "XBT/EUR"])
env_name = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,12}\Z")
env_value = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


config_sections = _optional(
    system=_optional(
        debug=st.booleans(),
        log_level=st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"]),
        health_check_interval=st.integers(1, 3600),
    ),
    exchange=_optional(name=st.just("kraken"), api_version=st.just("v2")),
    rate_limiting=_optional(
        tier=st.sampled_from(["starter", "intermediate", "pro"]), adaptive_mode=st.booleans()
    ),
    circuit_breaker=_optional(
        failure_threshold=st.integers(1, 1000),
        recovery_timeout=st.floats(0.001, 3600, allow_nan=False),
    ),
    trading=_optional(
        profit_target=st.floats(0.0001, 0.9999, allow_nan=False),
        max_position_size=st.floats(0.01, 1e6, allow_nan=False),
        pairs=st.lists(pair, min_size=1, max_size=5),
    ),
    storage=_optional(
        backend=st.sampled_from(["sqlite", "postgres"]), sqlite_path=st.just("/var/lib/tradingbot/x.db")
    ),
)

resources = _optional(
    requests=st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2),
    limits=st.dictionaries(st.sampled_from(["cpu", "memory"]), quantity, max_size=2),
)


@st.composite
def override(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """Overrides of a default component: everything but its phase may change."""
    body = draw(
        _optional(
            replicas=st.integers(0, 3),
            resources=resources,
            env=st.lists(st.fixed_dictionaries({"name": env_name, "value": env_value}), max_size=2),
            critical=st.booleans(),
            recovery=_optional(maxRestarts=st.integers(0, 100), windowSeconds=st.integers(10, 86400)),
        )
    )
    earlier = [
        d for d, phase in DEFAULTS.items() if RANK[phase] < RANK[DEFAULTS[name]] and d != "exchange-sim"
    ]
    if earlier and draw(st.booleans()):
        body["dependsOn"] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2))
    return {"name": name, **body}


@st.composite
def custom(draw: st.DrawFn, name: str) -> dict[str, Any]:
    phase = draw(st.sampled_from(PHASES[1:]))
    deps = [d for d, p in DEFAULTS.items() if RANK[p] <= RANK[phase] and d != "exchange-sim"]
    body: dict[str, Any] = {"name": name, "image": "example.org/custom:1", "phase": phase}
    if deps and draw(st.booleans()):
        body["dependsOn"] = draw(st.lists(st.sampled_from(deps), unique=True, max_size=2))
    if draw(st.booleans()):
        body["port"] = draw(st.integers(1, 65535))
    return body


@st.composite
def valid_spec(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = draw(
        _optional(
            suspend=st.booleans(),
            startup=_optional(
                phaseTimeoutSeconds=st.integers(5, 7200),
                maxRetries=st.integers(0, 20),
                rollbackOnFailure=st.booleans(),
            ),
            recovery=_optional(
                enabled=st.booleans(),
                maxRestarts=st.integers(0, 100),
                windowSeconds=st.integers(10, 86400),
                backoffSeconds=st.integers(0, 3600),
                safeMode=st.booleans(),
            ),
        )
    )
    if draw(st.booleans()):
        spec["exchange"] = {"mode": "live", "credentialsSecret": draw(dns_label)}
    else:
        spec["exchange"] = {"mode": "paper"}
    spec["config"] = draw(config_sections)
    names = draw(
        st.lists(st.sampled_from([n for n in DEFAULTS if n != "exchange-sim"]), unique=True, max_size=3)
    )
    components = [draw(override(n)) for n in names]
    customs = draw(st.lists(dns_label.map(lambda s: f"v{s}"), unique=True, max_size=2))  # never a fault's x*
    components += [draw(custom(n)) for n in customs]
    if components:
        spec["components"] = components
    return spec


# --- faults ------------------------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]

# (path in the spec, bad values): each value is refused by the CRD schema.
BAD_VALUES: list[tuple[tuple[str, ...], list[Any]]] = [
    (("config", "trading", "profit_target"), [0, -0.1, 1, 1.5, "high"]),
    (("config", "trading", "max_position_size"), [0, -5]),
    (
        ("config", "trading", "pairs"),
        [[], ["btc-usd"], ["XBTUSD"], "XBT/USD", [f"P{i}/USD" for i in range(51)]],
    ),
    (("config", "system", "health_check_interval"), [0, 3601, "sixty", 1.5]),
    (("config", "system", "log_level"), ["TRACE", "info", 3]),
    (("config", "system", "debug"), ["yes", 1]),
    (("config", "rate_limiting", "tier"), ["platinum", ""]),
    (("config", "circuit_breaker", "failure_threshold"), [0, 1001]),
    (("config", "circuit_breaker", "recovery_timeout"), [0, -1, 3601]),
    (("config", "exchange", "name"), ["binance"]),
    (("config", "exchange", "api_version"), ["v1"]),
    (("config", "storage", "backend"), ["mysql"]),
    (("config", "storage", "dsn"), ["postgres://u:p@db/x"]),  # a secret: CEL forbids it in spec.config
    (("startup", "phaseTimeoutSeconds"), [4, 7201, "300"]),
    (("startup", "maxRetries"), [-1, 21]),
    (("recovery", "maxRestarts"), [-1, 101]),
    (("recovery", "windowSeconds"), [9, 86401]),
    (("recovery", "backoffSeconds"), [-1, 3601]),
    (("suspend",), ["yes", 0]),
    (("image",), [""]),
    (("exchange", "mode"), ["demo"]),
]
UNKNOWN_FIELDS: list[tuple[str, ...]] = [
    ("bogus",),
    ("config", "bogus"),
    ("config", "trading", "bogus"),
    ("startup", "bogus"),
]
# Fields of a component entry and values the schema refuses.
BAD_COMPONENT_FIELDS: list[tuple[str, list[Any]]] = [
    ("replicas", [-1, 21]),
    ("port", [0, 65536]),
    ("image", [""]),
    ("resources", [{"limits": {"cpu": "lots"}}]),
    ("env", [[{"name": "1BAD", "value": "x"}]]),
    ("tolerations", [[{"operator": "Sometimes"}]]),
    ("recovery", [{"windowSeconds": 1}]),
    ("bogus", [True]),
]


def _set(spec: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = spec
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


def _field_path(path: tuple[str, ...]) -> str:
    return "spec." + ".".join(path)


@st.composite
def field_fault(draw: st.DrawFn) -> tuple[tuple[str, ...], Any, Fault]:
    """A bad value, or an unknown field, somewhere outside spec.components."""
    if draw(st.integers(0, 5)) == 0:
        path = draw(st.sampled_from(UNKNOWN_FIELDS))
        return (
            path,
            "surprise",
            Fault(Stage.ADMISSION, (_field_path(path),), f"unknown field {_field_path(path)}"),
        )
    path, values = draw(st.sampled_from(BAD_VALUES))
    value = draw(st.sampled_from(values))
    return path, value, Fault(Stage.ADMISSION, (_field_path(path),), f"{_field_path(path)}={value!r}")


@st.composite
def component_fault(draw: st.DrawFn, components: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Fault]:
    """One problem in spec.components: schema, CEL and list-map errors (admission), graph errors (operator)."""
    names = [c["name"] for c in components]
    at = len(components)  # the index of an appended entry
    here = f"spec.components[{at}]"
    kind = draw(st.integers(0, 9))
    free = [n for n in DEFAULTS if n not in names and n != "exchange-sim"]
    if kind == 0 and free:  # a schema violation inside an entry
        field, values = draw(st.sampled_from(BAD_COMPONENT_FIELDS))
        value = draw(st.sampled_from(values))
        entry = {"name": draw(st.sampled_from(free)), field: value}
        return [*components, entry], Fault(
            Stage.ADMISSION, (f"{here}.{field}",), f"component {field}={value!r}"
        )
    if kind == 1:
        bad = draw(st.sampled_from(["Gateway", "1st", "has_underscore", "a" * 41]))
        return [*components, {"name": bad}], Fault(
            Stage.ADMISSION, (f"{here}.name",), f"component name {bad!r}"
        )
    if kind == 2 and components:  # the same name twice (a list map keyed by name)
        twin = {"name": draw(st.sampled_from(names))}
        return [*components, twin], Fault(Stage.ADMISSION, (here,), "duplicate component name")
    if kind == 3:  # CEL: a custom component needs image and phase
        return [*components, {"name": "xnoimage", "phase": "Services"}], Fault(
            Stage.ADMISSION, ("spec.components",), "custom component without image"
        )
    if kind == 4 and free:  # CEL: a default component keeps its phase
        return [*components, {"name": draw(st.sampled_from(free)), "phase": "Core"}], Fault(
            Stage.ADMISSION, ("spec.components",), "phase of a default component"
        )
    if kind == 5:
        many = [{"name": f"xc{i}", "image": "x", "phase": "Services"} for i in range(33)]
        return many, Fault(Stage.ADMISSION, ("spec.components",), "33 components")
    # Graph problems the schema cannot see: the operator must name the entry's dependsOn.
    if kind == 6:
        entry = {
            "name": "xlost",
            "image": "x",
            "phase": "Services",
            "dependsOn": [draw(st.sampled_from(["oracle", "ghost"]))],
        }
        return [*components, entry], Fault(Stage.OPERATOR, (f"{here}.dependsOn",), "unknown dependency")
    if kind == 7 and free:
        name = draw(st.sampled_from(free))
        later = [d for d, p in DEFAULTS.items() if RANK[p] > RANK[DEFAULTS[name]] and d != "exchange-sim"]
        if later:
            entry = {"name": name, "dependsOn": [draw(st.sampled_from(later))]}
            return [*components, entry], Fault(
                Stage.OPERATOR, (f"{here}.dependsOn",), "dependency on a later phase"
            )
    if kind == 8:
        entry = {"name": "xself", "image": "x", "phase": "Network", "dependsOn": ["xself"]}
        return [*components, entry], Fault(Stage.OPERATOR, (f"{here}.dependsOn",), "self dependency")
    ring = draw(st.integers(2, 3))
    members = [f"xring{i}" for i in range(ring)]
    entries = [
        {"name": m, "image": "x", "phase": "Services", "dependsOn": [members[(i + 1) % ring]]}
        for i, m in enumerate(members)
    ]
    paths = tuple(f"spec.components[{at + i}].dependsOn" for i in range(ring))
    return [*components, *entries], Fault(Stage.OPERATOR, paths, f"dependsOn cycle of {ring}")


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A valid spec with 0-3 faults (about a third of the cases stay valid)."""
    spec = draw(valid_spec())
    faults: list[Fault] = []
    if draw(st.integers(0, 2)) == 0:
        return Case(spec, ())
    by_path: dict[tuple[str, ...], tuple[Any, Fault]] = {}
    for path, value, fault in draw(st.lists(field_fault(), max_size=2)):
        by_path[path] = (value, fault)  # a later fault on the same field replaces the earlier one
    for path, (value, fault) in by_path.items():
        if path == ("exchange", "mode"):
            spec["exchange"] = {"mode": value}
        else:
            _set(spec, path, value)
        faults.append(fault)
    if not faults or draw(st.booleans()):
        components, fault = draw(component_fault(spec.get("components", [])))
        spec["components"] = components
        faults.append(fault)
    if draw(st.integers(0, 7)) == 0 and ("exchange", "mode") not in by_path:
        spec["exchange"] = {"mode": "live"}  # CEL: live needs credentialsSecret
        faults.append(
            Fault(Stage.ADMISSION, ("spec.exchange.credentialsSecret",), "live without credentials")
        )
    return Case(spec, tuple(faults))
