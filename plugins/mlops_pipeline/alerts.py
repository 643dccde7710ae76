"""Tell someone when a task fails, because scheduled and data-triggered runs have nobody watching.

``on_failure`` is every DAG's ``on_failure_callback``: it logs one line (dag, task, run,
try, reason) and hands it to a pluggable hook named by ``PIPELINE_ALERT_HOOK`` as
``package.module:function``; the hook is called as ``hook(summary, context)`` and can post
to Slack, open an incident, send mail. A broken hook is logged, never raised: an alert must
not hide the failure it reports. It also leaves the reason beside the task's outputs
(``<run folder>/<task_id>/failure.json``), where the run report shows it first. ``notify``
hands other alert lines to the same hook: the ``model_monitoring`` DAG's live accuracy and drift.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("mlops_pipeline.alerts")
HOOK_ENV = "PIPELINE_ALERT_HOOK"
FAILURE_FILE = "failure.json"


def failure_reason(context: Mapping[str, Any]) -> str:
    """The exception's first line (a step's one-line error), or a note that none was recorded."""
    error = context.get("exception")
    return (str(error).strip().splitlines() or [type(error).__name__])[0] if error else "no exception recorded"


def record_failure(context: Mapping[str, Any], artifact_root: str | None = None) -> Path | None:
    """Write the task's failure reason into its run-scoped folder for the run report; never raises."""
    from mlops_pipeline.run_keys import run_key
    from mlops_pipeline.settings import load_settings

    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    try:
        dag_id, task_id = ti.dag_id, ti.task_id
        run_id = getattr(dag_run, "run_id", None) or ti.run_id
        root = Path(artifact_root or load_settings().artifact_root) / dag_id / run_key(run_id)
        path = root / task_id / FAILURE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FAILURE_FILE}.tmp")
        tmp.write_text(json.dumps({"task_id": task_id, "try_number": getattr(ti, "try_number", None),
                                   "reason": failure_reason(context)}))
        tmp.replace(path)
        return path
    except Exception:  # noqa: BLE001 - a report aid must never mask the failure itself
        log.exception("could not record the failure reason for the run report")
        return None


def failure_summary(context: Mapping[str, Any]) -> str:
    """One line that says what failed, where and why."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?")
    reason = failure_reason(context)
    return (f"pipeline failure: dag={dag_id} task={task_id} run={run_id} try={getattr(ti, 'try_number', '?')} "
            f"reason={reason}")


def load_hook(spec: str | None) -> Callable[[str, Mapping[str, Any]], Any] | None:
    """The function named ``module:function``; ``None`` when no hook is configured."""
    if not spec or not spec.strip():
        return None
    module_name, _, function_name = spec.strip().partition(":")
    if not module_name or not function_name:
        raise ValueError(f"{HOOK_ENV}={spec!r} is not 'module:function'")
    return getattr(importlib.import_module(module_name), function_name)


def on_failure(context: Mapping[str, Any]) -> str:
    """Log the failure in one line and call the configured hook; return the line."""
    summary = failure_summary(context)
    log.error("%s", summary)
    record_failure(context)
    return notify(summary, context)


def notify(summary: str, context: Mapping[str, Any]) -> str:
    """Hand one alert line to the configured hook (a failure, or the monitor's live accuracy or drift)."""
    try:
        hook = load_hook(os.environ.get(HOOK_ENV))
        if hook is not None:
            hook(summary, context)
    except Exception:  # noqa: BLE001 - the alert path must never raise over the original failure
        log.exception("alert hook %s failed", os.environ.get(HOOK_ENV))
    return summary
