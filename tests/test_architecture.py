"""The shape of app/: no import circle between its modules, the layers point one way.

The import graph is read from the source (ast), not by importing: a module-level import (also
inside a top-level `if`/`try`, not under TYPE_CHECKING) is an edge, as is a package whose
__init__ imports all its modules through pkgutil (app/models). An import inside a function runs
late and is not an edge of this graph; the layer tests below look at those too.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"


def _modules() -> tuple[dict, set]:
    mods, pkgs = {}, set()
    for path in APP.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
            pkgs.add(".".join(parts))
        mods[".".join(parts)] = path
    return mods, pkgs


MODULES, PACKAGES = _modules()


def _resolve(name: str) -> str | None:
    """The app module an imported dotted name lives in (a name inside a module: that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _top_level(body):
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _top_level(node.orelse)
            continue
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *[h.body for h in getattr(node, "handlers", [])]):
                yield from _top_level(block)


def _imports(module: str, nodes) -> set[str]:
    base = module if module in PACKAGES else module.rpartition(".")[0]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {_resolve(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")[:len(base.split(".")) - (node.level - 1)]
                source = ".".join(parts + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                full = f"{source}.{alias.name}"
                found.add(full if full in MODULES else _resolve(source))
    return {m for m in found if m and m.startswith("app") and m != module}


def import_graph(module_level: bool = True) -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        nodes = _top_level(tree.body) if module_level else ast.walk(tree)
        graph[module] = _imports(module, nodes)
        if module in PACKAGES and "pkgutil.iter_modules(__path__)" in source:
            graph[module] |= {m for m in MODULES if m.rpartition(".")[0] == module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_imports():
    """The reader finds what a module imports, relative and dynamic imports included."""
    graph = import_graph()
    assert "app.workflow.engine" in graph["app.workflow.dossier.candidatures"]
    assert "app.models.statuts" in graph["app.models.candidature"]  # `from .statuts import`
    assert "app.models.candidature" in graph["app.models"]          # pkgutil
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_inside_app():
    graph = import_graph()
    found = circles(graph)
    assert not found, "\n".join(
        " ↔ ".join(c) + "\n    " + "\n    ".join(f"{m} → {sorted(graph[m] & set(c))}" for m in c)
        for c in found)


def _everything_imported(module: str) -> set[str]:
    return import_graph(module_level=False)[module]


def test_models_import_no_layer_above_them():
    """Models know nothing of the workflow, security, views or reports (not even inside a
    function): what a status means is app/models/statuts.py."""
    above = ("app.workflow", "app.security", "app.views", "app.reports", "app.imports")
    for module in (m for m in MODULES if m.startswith("app.models")):
        assert not {m for m in _everything_imported(module) if m.startswith(above)}, module


def test_engine_imports_no_verb_module():
    """The engine (tables, status sets, guard, history) sits below every verb: the verbs import
    it, never the other way round; app/workflow/verbs.py is the map of verbs."""
    imported = _everything_imported("app.workflow.engine")
    assert not {m for m in imported if m.startswith("app.workflow")}, imported
