"""One spec per step: the step module, its templated arguments and what it needs to run.

A spec knows nothing about where it runs. ``runners.step_operator`` turns it into a
local subprocess or a Kubernetes pod with exactly the same command line:
``python -m tasks <step> <arguments...>`` (the image's ENTRYPOINT is
``python -m tasks``, so a pod passes ``<step> <arguments...>``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Resources:
    """CPU and memory requests and limits of a step's pod."""

    cpu_request: str = "500m"
    memory_request: str = "1Gi"
    cpu_limit: str = "2"
    memory_limit: str = "4Gi"


DATA_RESOURCES = Resources()
TRAIN_RESOURCES = Resources(cpu_request="2", memory_request="4Gi", cpu_limit="8", memory_limit="16Gi")


@dataclass(frozen=True)
class StepSpec:
    """A pipeline step as data.

    Attributes:
        task_id: the Airflow task id (usually the step name).
        step: the ``tasks.<step>`` module that does the work.
        arguments: CLI arguments; may hold Jinja (``{{ params.epochs }}``).
        image: ``data`` or ``train``: which step image runs it.
        resources: pod requests and limits.
        gpus: templated GPU count for ``nvidia.com/gpu``; ``None`` for CPU steps.
        fixed: settings the DAG fixes for this task (so they are not on its trigger form).
    """

    task_id: str
    step: str
    arguments: tuple[str, ...] = ()
    image: str = "data"
    resources: Resources = field(default=DATA_RESOURCES)
    gpus: str | None = None
    fixed: frozenset[str] = frozenset()

    def command(self) -> list[str]:
        """The full command line (what the local runner executes)."""
        return ["python", "-m", "tasks", self.step, *self.arguments]

    def pod_arguments(self) -> list[str]:
        """The pod's arguments: the command line after the image's ``python -m tasks`` ENTRYPOINT."""
        return [self.step, *self.arguments]


def run_dir(artifact_root: str, step: str) -> str:
    """Jinja for the run-scoped folder of a step: ``<root>/<dag_id>/<run_id>/<step>``."""
    return f"{artifact_root}/{{{{ dag.dag_id }}}}/{{{{ run_id | run_key }}}}/{step}"


def xcom(task_id: str, key: str) -> str:
    """Jinja for one field of a step's result (its JSON line, pushed as XCom)."""
    return f"{{{{ ti.xcom_pull(task_ids='{task_id}')['{key}'] }}}}"


def first_xcom(task_ids: tuple[str, ...], key: str) -> str:
    """Jinja for a field of whichever of ``task_ids`` ran (the others were skipped by a branch)."""
    pulls = " or ".join(f"ti.xcom_pull(task_ids='{task_id}')" for task_id in task_ids)
    return f"{{{{ ({pulls})['{key}'] }}}}"


def result_line(stdout: str) -> dict[str, Any] | None:
    """A step's result as both runners read it: the last stdout line that is a JSON object.

    A pod writes the same line to ``/airflow/xcom/return.json``; a local subprocess
    prints it last. ``None`` when the step printed none.
    """
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None
