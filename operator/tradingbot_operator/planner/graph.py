"""The component dependency graph: explicit `dependsOn` plus every critical component of an earlier phase.

Pure functions. Problems come back as SpecProblems naming the field and the cause, e.g.
`spec.components[2].dependsOn: dependsOn cycle: gateway -> auth -> gateway`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradingbot_components.runtime.graph import find_cycle
from tradingbot_operator.planner.catalog import ComponentPlan


@dataclass(frozen=True)
class SpecProblem:
    """Something wrong with a spec that the schema cannot express."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


Graph = Mapping[str, frozenset[str]]


def _path(plan: ComponentPlan) -> str:
    return (
        f"spec.components[{plan.spec_index}].dependsOn"
        if plan.spec_index is not None
        else f"component {plan.name}"
    )


def validate(plans: Iterable[ComponentPlan]) -> list[SpecProblem]:
    """Unknown dependencies, dependencies on a later phase, self-dependencies and cycles."""
    plans = list(plans)
    by_name = {p.name: p for p in plans}
    problems: list[SpecProblem] = []
    for plan in plans:
        for dep in plan.depends_on:
            target = by_name.get(dep)
            if target is None:
                problems.append(
                    SpecProblem(_path(plan), f"unknown component '{dep}' (known: {', '.join(by_name)})")
                )
            elif dep == plan.name:
                problems.append(SpecProblem(_path(plan), f"'{dep}' cannot depend on itself"))
            elif target.phase.rank > plan.phase.rank:
                problems.append(
                    SpecProblem(
                        _path(plan),
                        f"'{plan.name}' ({plan.phase}) cannot depend on '{dep}' ({target.phase}), a later phase",
                    )
                )
    if problems:
        return problems
    edges = {p.name: sorted(p.depends_on) for p in plans}
    cycle = find_cycle([p.name for p in plans], lambda name: edges.get(name, ()))
    if cycle:
        first = by_name[cycle[0]]
        problems.append(SpecProblem(_path(first), "dependsOn cycle: " + " -> ".join(cycle)))
    return problems


def dependency_graph(plans: Iterable[ComponentPlan]) -> dict[str, frozenset[str]]:
    """Each component's full set of direct prerequisites: its dependsOn plus earlier-phase critical components."""
    plans = list(plans)
    graph: dict[str, frozenset[str]] = {}
    for plan in plans:
        implicit = {p.name for p in plans if p.critical and p.phase.rank < plan.phase.rank}
        graph[plan.name] = frozenset(implicit | set(plan.depends_on))
    return graph


def dependents(graph: Graph, name: str) -> set[str]:
    """Everything that depends on `name`, directly or transitively."""
    found: set[str] = set()
    frontier = [name]
    while frontier:
        current = frontier.pop()
        for other, deps in graph.items():
            if current in deps and other not in found:
                found.add(other)
                frontier.append(other)
    return found


def startup_order(plans: Iterable[ComponentPlan], graph: Graph) -> list[str]:
    """A topological order that keeps phase order and, within it, declaration order."""
    plans = sorted(plans, key=lambda p: p.phase.rank)  # stable: declaration order inside a phase
    done: set[str] = set()
    order: list[str] = []
    while len(order) < len(plans):
        progressed = False
        for plan in plans:
            if plan.name not in done and graph[plan.name] <= done:
                done.add(plan.name)
                order.append(plan.name)
                progressed = True
        if not progressed:
            raise ValueError("startup_order needs an acyclic graph; call validate() first")
    return order
