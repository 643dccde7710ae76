"""Airflow plugin: the API server refuses a DAG run or backfill whose conf the DAG's Params do not allow.

The middleware wraps the whole API server (``fastapi_root_middlewares``), so it sees the
REST API's and the UI trigger form's ``POST /api/v2/dags/{dag_id}/dagRuns`` and
``POST /api/v2/backfills`` (and its ``/dry_run``) alike. Every Airflow process imports
this file; it imports nothing heavy.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from mlops_pipeline.conf_check import RefuseBadConf


class ConfGuardPlugin(AirflowPlugin):
    """A bad conf (``{"epoch": 5}``, ``{"epochs": 5000}``) gets a 400 naming it instead of runs that fail later."""

    name = "conf_guard"
    fastapi_root_middlewares = [{"middleware": RefuseBadConf, "name": "Refuse a conf the Params do not allow"}]
