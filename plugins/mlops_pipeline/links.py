"""Task-level buttons in the Airflow UI: from a step to its Data Docs, run report or MLflow entry.

Airflow 3 calls ``get_link`` on the worker when the task finishes and stores the URL
as an XCom, so a link may only use what is known then (dag id, run id, task id).
Links that need later facts (the MLflow run id is written by ``register``) point at
the run-report plugin, which resolves them when clicked. Only ``airflow.sdk`` is
imported here: the DAG file imports this module at parse time.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

URL_PREFIX = "/run-report"
DEFAULT_MLFLOW_UI_URL = "http://localhost:5000"
VALIDATION_STEPS = ("validate_raw", "validate_prepared")


def mlflow_ui_url(environ: dict[str, str] | None = None) -> str:
    """The MLflow UI a person can open (``PIPELINE_MLFLOW_UI_URL``), not the tracking URI steps use."""
    env = os.environ if environ is None else environ
    return (env.get("PIPELINE_MLFLOW_UI_URL") or DEFAULT_MLFLOW_UI_URL).rstrip("/")


def report_url(dag_id: str, run_id: str, page: str = "") -> str:
    """Same-origin path of a run's report (or a page under it) in the API server."""
    return f"{URL_PREFIX}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/{page}"


class _RunReportLink(BaseOperatorLink):
    """A link to a page of the run report; subclasses say which page."""

    name = "Run report"

    def page(self, task_id: str) -> str:
        return ""

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return report_url(ti_key.dag_id, ti_key.run_id, self.page(ti_key.task_id))


class RunReportLink(_RunReportLink):
    """The whole run report: validation, cleaning, curves, metrics, gate."""

    name = "Run report"


class DataDocsLink(_RunReportLink):
    """The Great Expectations Data Docs this validation step wrote."""

    name = "Data Docs"

    def page(self, task_id: str) -> str:
        return f"data-docs/{task_id}/index.html"


class MlflowRunLink(_RunReportLink):
    """The MLflow run that tracks this training (created by ``register``; resolved on click)."""

    name = "MLflow run"

    def page(self, task_id: str) -> str:
        return "mlflow/run"


class MlflowModelVersionLink(_RunReportLink):
    """The registered model version this run deployed (resolved on click)."""

    name = "MLflow model version"

    def page(self, task_id: str) -> str:
        return "mlflow/model-version"


LINKS_BY_TASK: dict[str, tuple[type[_RunReportLink], ...]] = {
    "validate_raw": (DataDocsLink, RunReportLink),
    "validate_prepared": (DataDocsLink, RunReportLink),
    "train": (MlflowRunLink, RunReportLink),
    "evaluate": (RunReportLink,),
    "register": (MlflowRunLink, RunReportLink),
    "deploy": (MlflowModelVersionLink, RunReportLink),
}


def links_for(task_id: str) -> list[BaseOperatorLink]:
    """The buttons a step's task shows in the UI (none for most steps)."""
    return [link() for link in LINKS_BY_TASK.get(task_id, ())]
