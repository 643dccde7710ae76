"""What a step needs installed: the third-party distributions its code imports, and what an image holds.

A step's code is ``tasks.steps.<step>`` and every ``tasks.*`` module it imports, followed
transitively (imports inside functions count: they run when the step does). Each
third-party top-level name is mapped to its distributions with this environment's
metadata, which is the same lock the images install from. An image holds the
distributions its ``requirements.txt`` names (plus TensorFlow for an image that
installs it through the ``TENSORFLOW`` build argument) and everything they depend on.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = "tasks"
# The CPU and GPU wheels of TensorFlow install the same modules; this environment has the CPU one.
TENSORFLOW_DISTRIBUTION = "tensorflow-cpu"


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` runs ``a/__init__``, ``a/b/__init__`` and ``a/b/c``."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _imported_names(path: Path, module: str) -> set[str]:
    """Absolute names of every module ``path`` imports (``from x import y`` also tries ``x.y``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def step_imports(step: str) -> tuple[set[str], set[str]]:
    """(first-party modules, third-party top-level names) that ``python -m tasks <step>`` may import."""
    seen: set[str] = set()
    third_party: set[str] = set()
    todo = [*_with_parents(f"{FIRST_PARTY}.steps.{step}"), f"{FIRST_PARTY}.__main__"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        for imported in _imported_names(path, name):
            top = imported.split(".")[0]
            if top == FIRST_PARTY:
                todo.extend(n for n in _with_parents(imported) if _module_file(n))
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    return {n for n in seen if _module_file(n)}, third_party


@cache
def _distributions_of(top_level: str) -> frozenset[str]:
    return frozenset(canonicalize_name(d) for d in metadata.packages_distributions().get(top_level, ()))


def distributions_for(top_level: str) -> frozenset[str]:
    """The installed distributions that provide the module ``top_level`` (empty if none here)."""
    return _distributions_of(top_level)


def _requirements(distribution: str, extras: frozenset[str]) -> set[tuple[str, frozenset[str]]]:
    found = set()
    for line in metadata.requires(distribution) or []:
        req = Requirement(line)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        found.add((canonicalize_name(req.name), frozenset(req.extras)))
    return found


def closure(roots: set[tuple[str, frozenset[str]]]) -> set[str]:
    """``roots`` and every distribution they depend on, as installed in this environment."""
    done: set[tuple[str, frozenset[str]]] = set()
    todo = list(roots)
    while todo:
        item = todo.pop()
        if item in done:
            continue
        done.add(item)
        try:
            todo.extend(_requirements(*item))
        except metadata.PackageNotFoundError:
            continue
    return {name for name, _ in done}


def image_distributions(image_dir: Path) -> set[str]:
    """Every distribution ``image_dir``'s Dockerfile installs, dependencies included."""
    roots = set()
    for line in (image_dir / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            roots.add((canonicalize_name(req.name), frozenset(req.extras)))
    if re.search(r"^ARG TENSORFLOW=", (image_dir / "Dockerfile").read_text(), flags=re.MULTILINE):
        roots.add((TENSORFLOW_DISTRIBUTION, frozenset()))
    return closure(roots)
