"""The import graph of ``galaxysd_core`` runs one way: no cycle, no upward import.

Every import statement is read with ``ast`` (function-level imports included:
they hide a dependency from the module's head, not from the design). A *unit*
is a sub-package (``classify``) or a top-level module (``config``); ``LAYERS``
orders them from the ground up. A unit may import units of lower layers only;
two units of one layer do not import each other. Within the package no chain
of modules imports itself back.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import galaxysd_core

PACKAGE = Path(galaxysd_core.__file__).parent
# From the ground up. A new unit goes in the lowest layer above everything it imports.
LAYERS: list[set[str]] = [
    {"galaxysd_core", "errors", "_lazy", "lifetime", "launch"},
    {"paths", "atomic", "progress", "images", "thumbnails", "prompts"},
    {"config", "db"},
    {"cli"},  # the hub's helpers (add_config_arguments, ...), used by every domain's cli.py
    {"gz2", "review", "jobs"},
    {"sky", "quiz"},
    {"diffusion"},
    {"classify"},
    {"embedding", "quiz_pool"},  # quiz_pool: generates with diffusion, matches with classify
    {"metrics", "discovery"},
]


def _module_name(path: Path) -> str:
    parts = ["galaxysd_core", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts
    }


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports (anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        # A module importing its own package's __init__ (lazy exports) is no edge.
        graph[name] = {t for t in _imports(path, modules) if not name.startswith(t + ".")}
        graph[name].discard(name)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (a list of nodes, first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_unit_has_a_layer():
    layered = set().union(*LAYERS)
    units = {_unit(m) for m in _modules()}
    assert units <= layered, f"give these units a layer in LAYERS: {sorted(units - layered)}"


def test_no_upward_or_sideways_import():
    layer = {unit: i for i, units in enumerate(LAYERS) for unit in units}
    bad = sorted(
        f"{src} -> {dst}"
        for src, targets in _graph().items()
        for dst in targets
        if _unit(src) != _unit(dst) and layer[_unit(dst)] >= layer[_unit(src)]
    )
    assert not bad, "imports that run up (or across) the layers:\n" + "\n".join(bad)


def test_no_import_cycle_between_modules_or_packages():
    graph = _graph()
    assert _cycle(graph) is None, f"module import cycle: {' -> '.join(_cycle(graph))}"
    units: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph.items():
        units[_unit(src)] |= {_unit(t) for t in targets} - {_unit(src)}
    assert _cycle(units) is None, f"package import cycle: {' -> '.join(_cycle(units))}"


def test_the_checks_see_a_cycle_and_an_upward_import():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    # A real function-level import is seen (classify.experiments imports diffusion lazily).
    graph = _graph()
    assert "galaxysd_core.diffusion.batched" in graph["galaxysd_core.classify.experiments"]


def test_the_core_never_imports_streamlit():
    users = [
        name
        for name, path in _modules().items()
        if any(
            (
                isinstance(n, ast.Import)
                and any(a.name.split(".")[0] == "streamlit" for a in n.names)
            )
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "streamlit")
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert not users
