"""The layering rules of docs/architecture.md, read from the source's own imports (every
import statement, including the ones inside functions and under ``TYPE_CHECKING``):

* no import circles: no module imports a module that imports it back, however indirectly;
* services never import ``tasks.py`` (tasks call services, never the other way round);
* no product module imports the developer app (``calendly_integration.sandbox``), which
  production settings do not install.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "sam_saas", "calendly_integration", "reclamation")
DEVELOPER_APP = "calendly_integration.sandbox"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The product modules ``name`` imports. ``from pkg import mod`` counts as importing the
    module ``pkg.mod`` when there is one, else the package ``pkg``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = product_modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
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


def test_it_reads_the_imports_it_checks():
    # The checks below mean something only if the graph sees real edges.
    graph = import_graph()
    assert "sam_saas.services.jobs" in graph["sam_saas.services.dispatch"]
    assert "sam_saas.jobkinds" in graph["sam_saas.models.jobs"]
    assert "sam_saas.services.jobs" in graph["reclamation.jobs"]


def test_it_finds_a_circle_when_there_is_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_a_module_that_imports_it_back():
    assert circles(import_graph()) == []


def test_services_never_import_tasks():
    offenders = {
        (name, target)
        for name, targets in import_graph().items()
        if ".services." in f"{name}."
        for target in targets
        if target.endswith(".tasks")
    }
    assert offenders == set()


def test_no_product_module_imports_the_developer_app():
    offenders = {
        (name, target)
        for name, targets in import_graph().items()
        if not f"{name}.".startswith(f"{DEVELOPER_APP}.")
        for target in targets
        if f"{target}.".startswith(f"{DEVELOPER_APP}.")
    }
    assert offenders == set()


def test_the_core_imports_no_app_and_the_apps_not_each_other():
    def package(module):
        if f"{module}.".startswith(f"{DEVELOPER_APP}."):
            return DEVELOPER_APP
        return module.split(".")[0]

    allowed = {
        "config": {"config", "sam_saas"},
        "sam_saas": {"sam_saas"},
        "calendly_integration": {"calendly_integration", "sam_saas"},
        "reclamation": {"reclamation", "sam_saas"},
        DEVELOPER_APP: set(PACKAGES) | {DEVELOPER_APP},
    }
    offenders = {
        (name, target)
        for name, targets in import_graph().items()
        for target in targets
        if package(target) not in allowed[package(name)]
    }
    assert offenders == set()
