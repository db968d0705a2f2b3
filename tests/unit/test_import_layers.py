"""The package has layers: no import cycle between its packages, nor between the modules of one package.

Read from the source with `ast`, so every import counts: at the top, inside functions, and under
`TYPE_CHECKING` (a loop a type checker has to follow is still a loop a reader has to follow).
A package is `failure_handlers.<first part>`; a top-level module (`handler.py`, `config.py`) is a node
of its own, and `failure_handlers/__init__.py` is the node `failure_handlers`.

A subsystem's `settings.py` is the bottom layer, a node of its own: it imports nothing of the project
but the value reader (and errors, redaction, its own package's pure parts), so `config.py` can
compose every subsystem's settings while the subsystems' application parts (the archiver, the
dashboard) receive the composed `Settings`.
`test_settings_modules_are_leaves` keeps it so.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

ROOT_PACKAGE = "failure_handlers"
SOURCE = Path(__file__).resolve().parents[2] / ROOT_PACKAGE

Graph = Mapping[str, set[str]]

SETTINGS_MAY_IMPORT = {"failure_handlers.settings_reader", "failure_handlers.errors", "failure_handlers.redaction"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its `__init__`)."""
    return {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[str]:
    """The project modules `name` imports, as the most specific module each import names."""
    known = modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` parents up
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a.b import c` names the module a.b.c when there is one, else a name in a.b
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a name: the nearest module
                target = target.rpartition(".")[0]
            if target:
                yield target


def is_settings(module: str) -> bool:
    """`failure_handlers.<package>.settings`: a subsystem's settings, the bottom layer."""
    parts = module.split(".")
    return len(parts) == 3 and parts[2] == "settings"


def node_of(module: str) -> str:
    """The package-level node: `failure_handlers.<first part>`, or the root itself; a settings module is
    its own node."""
    return module if is_settings(module) else ".".join(module.split(".")[:2])


def package_graph() -> dict[str, set[str]]:
    """Which package imports which."""
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        edges = graph.setdefault(node_of(name), set())
        edges.update(node_of(target) for target in imported(name, path))
        edges.discard(node_of(name))
    return graph


def module_graphs() -> dict[str, dict[str, set[str]]]:
    """Per package: its modules and the modules of the same package each imports."""
    graphs: dict[str, dict[str, set[str]]] = {}
    for name, path in modules().items():
        package = ".".join(name.split(".")[:2])
        if package == name and path.name != "__init__.py":
            continue  # a top-level module is a package of one
        edges = graphs.setdefault(package, {}).setdefault(name, set())
        edges.update(target for target in imported(name, path) if target.startswith(package + ".") and target != name)
    return graphs


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of `graph` as `[a, b, ..., a]`, or None (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        stack = [iter(sorted(graph.get(start, ())))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return path[path.index(following) :] + [following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


def test_the_cycle_finder_finds_a_cycle_and_passes_a_layered_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_are_read_from_functions_and_type_checking_blocks():
    graph = package_graph()
    assert "failure_handlers.dlq" in graph["failure_handlers.handler"]
    assert "failure_handlers.storage" in graph["failure_handlers.dlq"]
    assert len(modules()) > 100


def test_no_import_cycle_between_packages():
    cycle = find_cycle(package_graph())
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or [])


def test_settings_modules_are_leaves():
    """A settings module reads values: it may use its own package's pure parts (the retry settings build
    a `RetryPlan`), the value reader, errors and redaction; nothing that reaches `config` again."""
    settings = [name for name in modules() if is_settings(name)]
    assert len(settings) >= 7  # dlq, retry, circuits, archive, alerts, metrics, web

    def allowed(name: str, target: str) -> bool:
        return target in SETTINGS_MAY_IMPORT or target.startswith(name.rpartition(".")[0] + ".")

    wider = {name: sorted(t for t in imported(name, modules()[name]) if not allowed(name, t)) for name in settings}
    assert not {name: found for name, found in wider.items() if found}, "a settings module imports more than values"
