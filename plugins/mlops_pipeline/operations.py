"""Operational defaults every DAG shares: owner, retries, timeouts and the failure alert.

Steps that touch storage or the network (fetching, ingesting) fail for passing reasons
(a slow object store, a busy volume), so they retry more, with exponential backoff capped
at ``max_retry_delay``. ``retry_exponential_backoff`` is a multiplier in Airflow 3.3:
``True`` would mean 1.0, a constant delay. Bad input never retries: the runners turn a
step's exit code 2 into ``AirflowFailException``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlops_pipeline.alerts import on_failure

IO_RETRIES: dict[str, Any] = {"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": 2.0,
                              "max_retry_delay": timedelta(minutes=10)}


def default_args(execution_timeout: timedelta) -> dict[str, Any]:
    """``default_args`` for a DAG whose longest step may take ``execution_timeout``."""
    return {"owner": "mlops", "retries": 1, "retry_delay": timedelta(seconds=20),
            "execution_timeout": execution_timeout, "on_failure_callback": on_failure}
