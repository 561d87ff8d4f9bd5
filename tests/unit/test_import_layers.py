"""Every layer of Atlas only looks down: no two modules import each other, directly or around a loop.

The imports are read from the source (``ast``), not by importing it, so every import counts: top-level ones,
those inside functions (deferred to keep start-up light) and those under ``TYPE_CHECKING``. A deferred import
still ties two modules together; it only hides the loop from Python.

One exception: the CLI's command modules register themselves on ``atlas.cli.app`` and ``app`` imports them
back to load the commands, so modules of ``atlas.cli`` may import each other in a loop.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import atlas

ATLAS = Path(atlas.__file__).resolve().parent
MAY_LOOP = "atlas.cli"  # a package whose modules may import each other (command registration)


def module_files(package_dir: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every module under ``package_dir`` (a package is its ``__init__``)."""
    modules: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (package, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module name ``module`` imports, wherever the import statement is."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: ``from . import x``, ``from ..y import z``
                parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parents, *([node.module] if node.module else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}"  # a submodule, or a name in ``base`` (resolved below)


def import_graph(modules: Mapping[str, Path], root: str) -> dict[str, set[str]]:
    """Module -> the modules of ``root`` it imports (each import resolved to the longest known module)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target in imported_names(name, path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and (target == root or target.startswith(root + ".")):
                graph[name].add(target)
    return graph


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def cycles(graph: Mapping[str, set[str]], may_loop: str | None = None) -> list[list[str]]:
    """One loop of imports per tangle of modules (a strongly connected component), each as a path that
    starts and ends at the same module. Imports between two modules of ``may_loop`` are left out."""
    edges = {
        node: sorted(
            t for t in targets if not (may_loop and _inside(node, may_loop) and _inside(t, may_loop))
        )
        for node, targets in graph.items()
    }
    loops: list[list[str]] = []
    for component in _components(edges):
        if len(component) > 1:
            loops.append(_loop_through(sorted(component)[0], edges, component))
    return sorted(loops)


def _components(edges: Mapping[str, list[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit on deep import chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            advanced = False
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(edges[target])))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def _loop_through(start: str, edges: Mapping[str, list[str]], component: set[str]) -> list[str]:
    """The shortest import path from ``start`` back to itself inside ``component`` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in edges[node]:
                if target not in component:
                    continue
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in a component without a loop back to it")  # pragma: no cover


def test_no_module_of_atlas_is_in_an_import_loop() -> None:
    loops = cycles(import_graph(module_files(ATLAS, "atlas"), "atlas"), may_loop=MAY_LOOP)
    assert not loops, "import loops (every layer should only import the layers below it):\n" + "\n".join(
        "  " + " -> ".join(loop) for loop in loops
    )


def test_the_walk_sees_every_kind_of_import() -> None:
    graph = import_graph(module_files(ATLAS, "atlas"), "atlas")
    assert "atlas.library" in graph["atlas.cli.ingest"]  # a top-level import
    assert "atlas.chapters.service" in graph["atlas.library"]  # inside a method, and under TYPE_CHECKING
    assert "atlas.sources.youtube" in graph["atlas.sources.registry"]  # inside a function
    assert all(_inside(t, "atlas") for targets in graph.values() for t in targets)  # not numpy, not typer


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_loop_is_named_whether_its_imports_are_top_level_deferred_or_for_typing(tmp_path: Path) -> None:
    _write(
        tmp_path / "pkg",
        {
            "__init__.py": "",
            "facade.py": "from pkg.service import answer\n",
            "service.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.helpers import Thing\n"
                "def answer() -> None:\n    from . import facade\n"
            ),
            "helpers.py": "import pkg.service\n",
            "cli/__init__.py": "",
            "cli/app.py": "from pkg.cli import command\nimport pkg.facade\n",
            "cli/command.py": "from .app import app\n",
            "leaf.py": "import json\n",
        },
    )
    graph = import_graph(module_files(tmp_path / "pkg", "pkg"), "pkg")
    assert graph["pkg.service"] == {"pkg.helpers", "pkg.facade"}
    assert graph["pkg.cli.command"] == {"pkg.cli.app"}
    assert graph["pkg.leaf"] == set()
    # facade, service and helpers are one tangle: it is named once, by its shortest loop.
    assert cycles(graph, may_loop="pkg.cli") == [["pkg.facade", "pkg.service", "pkg.facade"]]
    # Without the exception, the CLI's registration loop is reported too.
    assert ["pkg.cli.app", "pkg.cli.command", "pkg.cli.app"] in cycles(graph)
