"""Dependency graphs shared by the container, the startup sequence and the health monitor.

Pure functions: find a cycle and spell it out the way people read it ("a -> b -> a").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def find_cycle(roots: Iterable[N], edges: Callable[[N], Iterable[N]]) -> list[N] | None:
    """Return one cycle reachable from `roots` as a closed path `[a, b, a]`, or None when there is none.

    Nodes reached twice through different branches (a diamond) are not a cycle: only a node met again
    while it is still on the current path closes one.
    """
    finished: set[N] = set()
    on_path: dict[N, int] = {}
    path: list[N] = []

    for root in roots:
        if root in finished:
            continue
        # Iterative depth-first walk: (node, iterator over its successors) frames.
        stack: list[tuple[N, Iterator[N]]] = [(root, iter(edges(root)))]
        on_path[root] = 0
        path.append(root)
        while stack:
            node, successors = stack[-1]
            advanced = False
            for nxt in successors:
                if nxt in on_path:
                    return [*path[on_path[nxt] :], nxt]
                if nxt in finished:
                    continue
                on_path[nxt] = len(path)
                path.append(nxt)
                stack.append((nxt, iter(edges(nxt))))
                advanced = True
                break
            if not advanced:
                stack.pop()
                path.pop()
                del on_path[node]
                finished.add(node)
    return None


def format_path(path: Iterable[object], name: Callable[[object], str] = str) -> str:
    """`[a, b, a]` -> `"a -> b -> a"`."""
    return " -> ".join(name(node) for node in path)
