"""Reach a pure ``tasks/`` module (the URI policy, the validation page) from an Airflow process.

Airflow puts only ``dags/`` and ``plugins/`` on ``sys.path``; the Airflow image adds the
project root through ``PYTHONPATH``, a local checkout has it two folders above this file.
Only stdlib-only modules are meant to be loaded this way: the API server must stay light.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from mlops_pipeline.settings import PROJECT_ROOT


def task_module(name: str) -> ModuleType:
    """``tasks.<name>``, adding the project root to ``sys.path`` once if ``tasks`` is not importable yet."""
    try:
        return importlib.import_module(f"tasks.{name}")
    except ModuleNotFoundError as err:
        if err.name != "tasks" or str(PROJECT_ROOT) in sys.path:
            raise
    sys.path.append(str(PROJECT_ROOT))
    return importlib.import_module(f"tasks.{name}")
