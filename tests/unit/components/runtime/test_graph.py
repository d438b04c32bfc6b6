"""Cycle finding: diamonds are not cycles, and a found cycle is a real closed path of the graph."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tradingbot_components.runtime import find_cycle, format_path


def test_a_diamond_is_not_a_cycle() -> None:
    graph = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
    assert find_cycle(graph, graph.__getitem__) is None


def test_a_cycle_is_spelled_as_a_closed_path() -> None:
    graph = {"gateway": ["auth"], "auth": ["storage"], "storage": ["gateway"], "trader": ["gateway"]}
    cycle = find_cycle(["trader"], graph.__getitem__)
    assert cycle is not None
    assert format_path(cycle) == "gateway -> auth -> storage -> gateway"


# Edges only go from a smaller to a larger node: always acyclic.
forward_edges = st.sets(st.tuples(st.integers(0, 12), st.integers(0, 12)).filter(lambda e: e[0] < e[1]))


@given(forward_edges)
def test_forward_only_graphs_have_no_cycle(edges: set[tuple[int, int]]) -> None:
    graph = {n: [b for a, b in edges if a == n] for n in range(13)}
    assert find_cycle(range(13), graph.__getitem__) is None


@given(forward_edges, st.integers(0, 12), st.integers(0, 12))
def test_a_back_edge_over_a_path_closes_a_real_cycle(
    edges: set[tuple[int, int]], low: int, high: int
) -> None:
    low, high = sorted((low, high))
    chain = {(n, n + 1) for n in range(low, high)}
    graph = {n: [b for a, b in edges | chain if a == n] + ([low] if n == high else []) for n in range(13)}

    cycle = find_cycle(range(13), graph.__getitem__)

    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1
    assert all(b in graph[a] for a, b in itertools.pairwise(cycle))
