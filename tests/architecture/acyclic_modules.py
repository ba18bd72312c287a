"""An import-linter contract type: no import cycle between modules (type-only imports included,
as import-linter counts them unless ``exclude_type_checking_imports`` is set).

import-linter's own ``acyclic_siblings`` squashes each package's children, so it reports package
cycles that are not module cycles (a handler module taking the kernel's Context, in a package the
context uses); this one checks the module graph itself: its strongly connected components
(Tarjan), each reported with one shortest cycle.  Registered in pyproject.toml
``[tool.importlinter] contract_types``.
"""
from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


class AcyclicModulesContract(Contract):
    """``type = "acyclic_modules"``; ``containers``: the packages whose modules are checked."""

    type_name = "acyclic_modules"
    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        prefixes = tuple(self.containers)  # type: ignore[arg-type]
        modules = sorted(m for m in graph.modules
                         if any(m == p or m.startswith(p + ".") for p in prefixes))
        inside = set(modules)
        edges = {m: sorted(graph.find_modules_directly_imported_by(m) & inside) for m in modules}
        cycles = [_shortest_cycle(component, edges) for component in _components(modules, edges)]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(" -> ".join(cycle), bold=False)
            output.new_line()


def _components(modules: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _shortest_cycle(component: list[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest cycle through the first module of `component` (breadth-first search)."""
    start, members = component[0], set(component)
    parents: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for child in edges[node]:
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if child not in parents:
                parents[child] = node
                queue.append(child)
    return component
