"""Load a DAG file as Airflow does, once per test session, for tests that inspect its objects."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

from tests.support.steps import ROOT


@functools.cache
def dag_module(name: str = "fashion_mnist_training") -> Any:
    """The executed DAG file ``dags/<name>.py`` (its ``STEPS``, ``dag`` ...)."""
    spec = importlib.util.spec_from_file_location(f"loaded_{name}", ROOT / "dags" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def training_dag() -> Any:
    return dag_module().dag
