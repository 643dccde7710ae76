"""Airflow plugin: a "Run report" tab on every DAG run, served by a FastAPI app in the API server.

Every Airflow process imports this file, so it imports nothing heavy: the FastAPI app
is built on first access of ``fastapi_apps``, which only the API server (and
``airflow plugins``) reads. The tab's ``href`` is relative with the UI's
``{DAG_ID}``/``{RUN_ID}`` placeholders, which the UI fills in and URL-encodes.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from mlops_pipeline.links import URL_PREFIX  # where the task buttons point is where the app is mounted


class RunReportPlugin(AirflowPlugin):
    """The run report app and its tab on the DAG run page."""

    name = "run_report"
    external_views = [
        {
            "name": "Run report",
            "href": URL_PREFIX + "/dags/{DAG_ID}/runs/{RUN_ID}/",
            "destination": "dag_run",
            "url_route": "run-report",
        },
        {
            "name": "Model history",
            "href": URL_PREFIX + "/dags/fashion_mnist_training/models/",
            "destination": "nav",
            "url_route": "model-history",
        },
    ]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from run_report.app import app

        return [{"app": app, "url_prefix": URL_PREFIX, "name": "Run report"}]
