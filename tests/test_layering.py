"""The project's layers, read from the import statements of tasks/, plugins/ and dags/.

Lowest first; a module may import its own layer and the ones below, never one above:

    core      tasks.core (errors, atomic output, the Setting/contract types, the parameter catalog, the layout)
    catalog   tasks.contracts: each step's contract, what the scheduler reads to wire a step
    library   tasks.data, tasks.model, tasks.feedback, tasks.serve: the domain code (scheduler and API server too)
    steps     tasks.steps, tasks.__main__: the step CLIs (``python -m tasks <step>``)
    plugins   plugins/: mlops_pipeline (what the DAGs share), run_report (the UI plugin), the plugin entry points
    dags      dags/: wiring only

Besides the order: nothing in ``tasks`` imports Airflow, the scheduler side (plugins, DAGs) runs the step CLIs as
processes and never imports them, and no two modules import each other, directly or round a loop. Every import
counts, the ones inside functions and under ``TYPE_CHECKING`` too (each is a dependency); ``importlib``'s are not
seen (``tasks/__main__.py`` reaches the steps that way, from their own layer).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.steps import ROOT

pytestmark = pytest.mark.unit

LAYERS = ("core", "catalog", "library", "steps", "plugins", "dags")
LIBRARY = ("tasks.data", "tasks.model", "tasks.feedback", "tasks.serve")


def _within(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def layer_of(module: str) -> str | None:
    """The layer a module belongs to (``None``: a module no layer claims, which is itself a failure)."""
    if module == "tasks" or _within(module, "tasks.core"):
        return "core"
    if module == "tasks.contracts":
        return "catalog"
    if _within(module, *LIBRARY):
        return "library"
    if module == "tasks.__main__" or _within(module, "tasks.steps"):
        return "steps"
    if _within(module, "dags"):
        return "dags"
    if not _within(module, "tasks"):
        return "plugins"
    return None


def _module_name(path: Path, root: Path) -> str:
    """Dotted name as the process imports it: plugins/ is on sys.path (Airflow puts it there), the others by folder."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "plugins":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(node: ast.AST, package: str) -> list[tuple[str, str | None]]:
    """(module, name) pairs an import statement names: ``import a.b`` is (a.b, None), ``from a import b`` (a, b)."""
    if isinstance(node, ast.Import):
        return [(alias.name, None) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        return [(base, alias.name) for alias in node.names]
    return []


def import_graph(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(project module -> project modules it imports, project module -> top-level names of the others)."""
    files = {_module_name(path, root): path for top in ("tasks", "plugins", "dags")
             for path in sorted((root / top).rglob("*.py"))}
    project: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        project[module], outside[module] = set(), set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for base, name in _imported(node, package):
                # ``from a import b`` imports module a.b when there is one, else a's attribute b (module a).
                target = f"{base}.{name}" if f"{base}.{name}" in files else base
                if target in files:
                    project[module].add(target)
                else:
                    outside[module].add(target.split(".")[0])
        project[module].discard(module)
    return project, outside


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a (layer) -> b (higher layer)`` for every import that reaches up, and every module no layer claims."""
    problems = [f"{module}: in no layer" for module in graph if layer_of(module) is None]
    rank = {module: LAYERS.index(layer_of(module)) for module in graph if layer_of(module)}
    problems += [f"{module} ({layer_of(module)}) -> {target} ({layer_of(target)})"
                 for module, targets in graph.items() for target in sorted(targets)
                 if module in rank and target in rank and rank[target] > rank[module]]
    return sorted(problems)


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan): each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = {stack.pop()}
            while module not in component:
                component.add(stack.pop())
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


@pytest.fixture(scope="module")
def project() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return import_graph(ROOT)


def test_every_module_imports_only_its_own_layer_and_the_ones_below(project):
    graph, _ = project
    assert upward_imports(graph) == []


def test_nothing_in_tasks_imports_airflow(project):
    _, outside = project
    assert sorted(module for module, names in outside.items() if _within(module, "tasks") and "airflow" in names) == []


def test_the_scheduler_side_runs_the_step_clis_and_imports_none_of_them(project):
    graph, _ = project
    assert sorted(f"{module} -> {target}" for module, targets in graph.items() for target in targets
                  if layer_of(module) != "steps" and layer_of(target) == "steps") == []


def test_no_module_imports_itself_round_a_loop(project):
    graph, _ = project
    assert cycles(graph) == []


def test_the_checks_catch_an_upward_import_an_airflow_import_and_a_cycle(tmp_path):
    # Given a project whose core imports the library, whose library imports Airflow and two plugin modules in a loop
    files = {"tasks/__init__.py": "", "tasks/core/__init__.py": "", "tasks/data/__init__.py": "",
             "tasks/core/common.py": "from tasks.data import x\n",
             "tasks/data/x.py": "def f():\n    import airflow.sdk\n",
             "plugins/pkg/__init__.py": "", "plugins/pkg/a.py": "from . import b\n",
             "plugins/pkg/b.py": "from pkg.a import thing\n", "dags/d.py": "import pkg.a\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    # When its imports are read
    graph, outside = import_graph(tmp_path)

    # Then each of the three is reported, and the allowed imports are not
    assert upward_imports(graph) == ["tasks.core.common (core) -> tasks.data.x (library)"]
    assert outside["tasks.data.x"] == {"airflow"}
    assert cycles(graph) == [{"pkg.a", "pkg.b"}]
