"""The project's modules import one another in one direction only (DESIGN.md, section 4):

    lightboard  <-  workapps  <-  outbox  <-  tasks  <-  reviews  <-  reports  <-  directory  <-  api

An app may import the apps to its left, never to its right; the core package `lightboard`
imports no app; and no group of modules imports itself round in a loop. Every import is read
with `ast`, including those inside functions, which are how a loop usually hides."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["lightboard", "workapps", "outbox", "tasks", "reviews", "reports", "directory", "api"]


def project_modules():
    """Every module of the apps, as a dotted name mapped to its file."""
    modules = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(importer, is_package, node):
    """The absolute names an import statement may bring in (module, or module.name)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = importer.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module
    return [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]


def import_graph(modules):
    """module -> the set of project modules it imports, wherever in the module the import is."""
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for candidate in _resolve(name, is_package, node):
                    # `from tasks import services` names a module; `from tasks.models import User` a class.
                    while candidate and candidate not in modules:
                        candidate = candidate.rpartition(".")[0]
                    if candidate and candidate != name:
                        targets.add(candidate)
        graph[name] = targets
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward_imports(graph):
    """(importer, imported) pairs where a module imports an app to its right in LAYERS."""
    rank = {package: position for position, package in enumerate(LAYERS)}
    return sorted(
        (importer, target)
        for importer, targets in graph.items()
        for target in targets
        if rank[target.split(".")[0]] > rank[importer.split(".")[0]]
    )


@pytest.fixture(scope="module")
def graph():
    return import_graph(project_modules())


def test_the_reader_sees_every_kind_of_import(tmp_path):
    """The checker itself: relative, absolute and function-local imports are all found."""
    modules = {"tasks.views": tmp_path / "views.py", "tasks.models": tmp_path / "models.py", "reviews.models": None}
    modules["tasks.views"].write_text("from .models import KeyTask\ndef f():\n    from reviews import models\n")
    modules["tasks.models"].write_text("import reviews.models\n")
    modules["reviews.models"] = tmp_path / "reviews_models.py"
    modules["reviews.models"].write_text("def g():\n    from tasks.views import f\n")
    graph = import_graph(modules)
    assert graph == {
        "tasks.views": {"tasks.models", "reviews.models"},
        "tasks.models": {"reviews.models"},
        "reviews.models": {"tasks.views"},
    }
    assert cycles(graph) == [["reviews.models", "tasks.models", "tasks.views"]]
    assert upward_imports(graph) == [("tasks.models", "reviews.models"), ("tasks.views", "reviews.models")]


def test_no_module_imports_itself_round_a_loop(graph):
    assert cycles(graph) == []


def test_the_core_package_imports_no_app(graph):
    assert [(a, b) for a, b in upward_imports(graph) if a.startswith("lightboard")] == []


def test_tasks_imports_neither_reviews_nor_reports(graph):
    found = [(a, b) for a, b in upward_imports(graph) if a.split(".")[0] == "tasks"]
    assert found == []


def test_every_app_imports_only_the_apps_to_its_left(graph):
    assert upward_imports(graph) == []
