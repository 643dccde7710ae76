"""What the run report reads besides artifact files: Airflow's record of the run and the model registry.

Each function is a FastAPI dependency (or used by one), so tests replace them with
``app.dependency_overrides``; Airflow and MLflow are imported per request, not at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_pipeline.alerts import FAILURE_FILE
from mlops_pipeline.settings import load_settings
from run_report.reuse import reused_steps
from run_report.skew import step_commits

# Tasks whose result the report shows: the training run's data lineage, the ingest run's outcome
XCOM_TASKS = ("fetch", "resolve_dataset", "ingest", "publish")


def run_facts(dag_id: str, run_id: str) -> dict[str, Any]:
    """What Airflow's database knows of the run: conf, state, the DAG's Param defaults, each task's state and
    times (``tasks``), the failed ones in the order they ran, the data XComs, and each step's ``provenance``
    (the commits its code and its DAG came from, which every step result records), and the data steps that
    reused an earlier run's outputs (``reused``)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    facts: dict[str, Any] = {"conf": None, "defaults": None, "failed": [], "xcoms": {}, "tasks": {},
                             "provenance": {}, "reused": {}}
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
        if run is None:
            return facts
        facts["conf"] = dict(run.conf or {})
        facts["state"] = str(getattr(run.state, "value", run.state) or "")
        tasks = session.execute(select(TaskInstance.task_id, TaskInstance.try_number, TaskInstance.state,
                                       TaskInstance.start_date, TaskInstance.end_date).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
        ).order_by(TaskInstance.start_date)).all()
        facts["tasks"] = {task_id: {"state": str(getattr(state, "value", state) or ""), "start": start, "end": end}
                          for task_id, _, state, start, end in tasks}
        facts["failed"] = [{"task_id": task_id, "try_number": tries} for task_id, tries, state, *_ in tasks
                           if state == TaskInstanceState.FAILED]
        rows = session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id, key="return_value")).all()
        results = {row.task_id: XComModel.deserialize_value(row) for row in rows}
        facts["xcoms"] = {task_id: value for task_id, value in results.items() if task_id in XCOM_TASKS}
        facts["provenance"] = step_commits(results)
        facts["reused"] = reused_steps(results)
        dag = SerializedDagModel.get_dag(dag_id, session=session)
        facts["defaults"] = dict(dag.params.dump()) if dag is not None else None
    return facts


def failures(folder: Path, failed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each failed task with the one-line reason its failure callback left in its folder (if it could)."""
    found = []
    for task in failed:
        task_id = str(task.get("task_id", ""))
        recorded = _read_failure(folder, task_id) if task_id and "/" not in task_id and ".." not in task_id else {}
        found.append({**task, "reason": recorded.get("reason")})
    return found


def _read_failure(folder: Path, task_id: str) -> dict[str, Any]:
    try:
        recorded = json.loads((folder / task_id / FAILURE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def history_reader() -> Callable[[str], dict[str, Any]]:
    """Reads a registered model's history from MLflow; an unreachable registry reads as no versions."""

    def read(model_name: str) -> dict[str, Any]:
        from tasks.model.history import model_history
        from tasks.model.registry import client

        try:
            return model_history(client(load_settings().tracking_uri), model_name)
        except Exception:  # noqa: BLE001 - the report must render without MLflow
            return {"model_name": model_name, "champion": None, "versions": [], "history": []}

    return read


def models_reader() -> Callable[[str], list[dict[str, Any]]]:
    """Reads the models a DAG's runs registered; an unreachable registry reads as none."""

    def read(dag_id: str) -> list[dict[str, Any]]:
        from tasks.model.history import models_trained_by
        from tasks.model.registry import client

        try:
            return models_trained_by(client(load_settings().tracking_uri), dag_id)
        except Exception:  # noqa: BLE001 - the page must render without MLflow
            return []

    return read


def facts_reader() -> Callable[[str, str], dict[str, Any]]:
    """``run_facts`` for pages that read several runs (the comparison)."""
    return run_facts
