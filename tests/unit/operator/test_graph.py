"""The dependency graph: validation errors name the problem; diamonds are fine; order keeps phases."""

from __future__ import annotations

from tradingbot_components.config import COMPONENT_NAMES
from tradingbot_operator.api.types import TradingBotSpec
from tradingbot_operator.planner.catalog import resolve_components
from tradingbot_operator.planner.graph import dependency_graph, dependents, startup_order, validate


def plans_for(components: list[dict], mode: str = "paper"):
    spec = TradingBotSpec.model_validate(
        {"exchange": {"mode": mode, "credentialsSecret": "k"}, "components": components}
    )
    return resolve_components(spec, "img")


def test_default_bot_is_valid_and_starts_in_phase_order() -> None:
    plans = plans_for([])
    assert validate(plans) == []
    order = startup_order(plans, dependency_graph(plans))
    assert order == list(COMPONENT_NAMES)


def test_live_mode_has_no_simulator() -> None:
    assert "exchange-sim" not in {p.name for p in plans_for([], mode="live")}


def test_unknown_dependency_names_the_field_and_the_component() -> None:
    problems = validate(
        plans_for([{"name": "signals", "image": "x", "phase": "Services", "dependsOn": ["oracle"]}])
    )
    assert [str(p) for p in problems] == [
        "spec.components[0].dependsOn: unknown component 'oracle' (known: storage, exchange-sim, auth, gateway, "
        "market-data, balance-manager, portfolio, trader, signals)"
    ]


def test_dependency_on_a_later_phase_is_rejected() -> None:
    problems = validate(
        plans_for([{"name": "feeder", "image": "x", "phase": "Infrastructure", "dependsOn": ["trader"]}])
    )
    assert len(problems) == 1
    assert "'feeder' (Infrastructure) cannot depend on 'trader' (Services), a later phase" in str(problems[0])


def test_cycle_is_printed_as_a_path() -> None:
    problems = validate(
        plans_for(
            [
                {"name": "a", "image": "x", "phase": "Services", "dependsOn": ["b"]},
                {"name": "b", "image": "x", "phase": "Services", "dependsOn": ["a"]},
            ]
        )
    )
    assert [str(p) for p in problems] == ["spec.components[0].dependsOn: dependsOn cycle: a -> b -> a"]


def test_cycle_through_a_default_component_override() -> None:
    problems = validate(
        plans_for(
            [
                {"name": "signals", "image": "x", "phase": "Services", "dependsOn": ["trader"]},
                {"name": "trader", "dependsOn": ["signals"]},
            ]
        )
    )
    assert len(problems) == 1 and "cycle: " in problems[0].message
    assert (
        "trader -> signals -> trader" in problems[0].message
        or "signals -> trader -> signals" in problems[0].message
    )


def test_self_dependency() -> None:
    problems = validate(
        plans_for([{"name": "solo", "image": "x", "phase": "Services", "dependsOn": ["solo"]}])
    )
    assert "'solo' cannot depend on itself" in str(problems[0])


def test_diamond_is_not_a_cycle() -> None:
    plans = plans_for(
        [
            {"name": "top", "image": "x", "phase": "Services", "dependsOn": ["left", "right"]},
            {"name": "left", "image": "x", "phase": "Services", "dependsOn": ["bottom"]},
            {"name": "right", "image": "x", "phase": "Services", "dependsOn": ["bottom"]},
            {"name": "bottom", "image": "x", "phase": "Services"},
        ]
    )
    assert validate(plans) == []
    order = startup_order(plans, dependency_graph(plans))
    assert order.index("bottom") < order.index("left") < order.index("top")
    assert order.index("right") < order.index("top")


def test_later_phases_depend_on_every_earlier_critical_component() -> None:
    plans = plans_for([{"name": "metrics", "image": "x", "phase": "Infrastructure", "critical": False}])
    graph = dependency_graph(plans)
    assert {"storage", "exchange-sim", "auth"} <= graph["gateway"]
    assert "metrics" not in graph["gateway"]  # non-critical components gate nothing implicitly
    assert dependents(graph, "auth") >= {"gateway", "trader"}
