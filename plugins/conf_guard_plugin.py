"""Airflow plugin: the API server refuses a DAG run whose conf has keys that are not the DAG's Params.

The middleware wraps the whole API server (``fastapi_root_middlewares``), so it sees the
REST API's and the UI trigger form's ``POST /api/v2/dags/{dag_id}/dagRuns`` alike. Every
Airflow process imports this file; it imports nothing heavy.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from mlops_pipeline.conf_check import RefuseUnknownConf


class ConfGuardPlugin(AirflowPlugin):
    """Unknown conf keys (``{"epoch": 5}``) get a 400 naming them instead of a run with defaults."""

    name = "conf_guard"
    fastapi_root_middlewares = [{"middleware": RefuseUnknownConf, "name": "Refuse unknown conf keys"}]
