"""``tests/`` mirrors the source tree, and no module imports a test module or a ``conftest``.

A test of ``tasks/data/columnar.py`` is ``tests/tasks/data/test_columnar.py``; one that tests a top-level module
(``tasks/contracts.py``) sits beside the folder's packages; the tiers that test no single module (``e2e/``)
and the shared helpers (``support/``) are the only folders of their own. Shared code lives in helper modules
(``support/``, a folder's ``helpers.py`` or ``conftest.py``), never in a test module another test imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.steps import ROOT

pytestmark = pytest.mark.unit

TESTS = ROOT / "tests"
SOURCE_FOLDERS = ("dags", "plugins", "tasks", "benchmarks", "k8s", "images")
OWN_FOLDERS = ("e2e", "support")
PACKAGED = ("plugins", "tasks")  # source folders of several packages: their tests go by package


def _test_modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("test_*.py"))


def misplaced(tests: Path, root: Path) -> list[str]:
    """Every test module whose folder is not its source's folder (relative paths, for the message)."""
    wrong = []
    for module in _test_modules(tests):
        parts = module.relative_to(tests).parts
        if len(parts) == 1:
            continue  # tests/test_*.py: the project as a whole (layering, README, Makefile, this tree)
        top, inner = parts[0], parts[1:-1]
        if top in OWN_FOLDERS:
            continue
        if top not in SOURCE_FOLDERS:
            wrong.append(f"{module.relative_to(tests)}: tests/{top} names no source folder")
        elif top in PACKAGED and not inner:
            name = module.stem.removeprefix("test_")
            if not (root / top / f"{name}.py").is_file():
                wrong.append(f"{module.relative_to(tests)}: {top}/{name}.py is no top-level module; "
                             f"move it to the folder of the package it tests")
        elif inner and not (root / top / Path(*inner) / "__init__.py").is_file():
            wrong.append(f"{module.relative_to(tests)}: {top}/{'/'.join(inner)} is no package")
    return wrong


def _is_test_module(name: str) -> bool:
    return any(part.startswith("test_") or part == "conftest" for part in name.split(".")[1:])


def imported_test_modules(tests: Path) -> list[str]:
    """Every ``import`` of a test module or a ``conftest`` by a module under ``tests`` (``a -> b``): pytest loads
    those itself, and an import makes a second copy of the module."""
    found = []
    for module in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            found += [f"{module.relative_to(tests)} -> {name}" for name in names
                      if name.startswith("tests.") and _is_test_module(name)]
    return found


def test_every_test_module_sits_in_the_folder_of_what_it_tests():
    assert misplaced(TESTS, ROOT) == []


def test_no_test_module_imports_another():
    assert imported_test_modules(TESTS) == []


def test_the_checks_catch_a_misplaced_module_and_an_imported_test_module(tmp_path):
    (tmp_path / "tasks" / "data").mkdir(parents=True)
    (tmp_path / "tasks" / "data" / "__init__.py").touch()
    (tmp_path / "tasks" / "contracts.py").touch()
    tests = tmp_path / "tests"
    for path in ("tasks/test_contracts.py", "tasks/test_columnar.py", "tasks/data/test_columnar.py",
                 "tasks/model/test_scoring.py", "e2e/test_run.py", "scratch/test_x.py"):
        (tests / path).parent.mkdir(parents=True, exist_ok=True)
        (tests / path).write_text("from tests.tasks.data.test_columnar import helper\nimport tests.support.steps\n"
                                  "from tests.tasks.conftest import make_bundles\n")

    assert misplaced(tests, tmp_path) == [
        "scratch/test_x.py: tests/scratch names no source folder",
        "tasks/model/test_scoring.py: tasks/model is no package",
        "tasks/test_columnar.py: tasks/columnar.py is no top-level module; move it to the folder of the package "
        "it tests"]
    assert "e2e/test_run.py -> tests.tasks.data.test_columnar" in imported_test_modules(tests)
    assert "e2e/test_run.py -> tests.tasks.conftest" in imported_test_modules(tests)
    assert not any(line.endswith("tests.support.steps") for line in imported_test_modules(tests))
