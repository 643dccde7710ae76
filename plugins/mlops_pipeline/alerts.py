"""Tell someone when a task fails, because scheduled and data-triggered runs have nobody watching.

``on_failure`` is every DAG's ``on_failure_callback``: it logs one line (dag, task, run,
try, reason) and hands it to a pluggable hook named by ``PIPELINE_ALERT_HOOK`` as
``package.module:function``; the hook is called as ``hook(summary, context)`` and can post
to Slack, open an incident, send mail. A broken hook is logged, never raised: an alert must
not hide the failure it reports.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("mlops_pipeline.alerts")
HOOK_ENV = "PIPELINE_ALERT_HOOK"


def failure_summary(context: Mapping[str, Any]) -> str:
    """One line that says what failed, where and why."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(dag_run, "run_id", None) or getattr(ti, "run_id", "?")
    error = context.get("exception")
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0] if error else "no exception recorded"
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
    try:
        hook = load_hook(os.environ.get(HOOK_ENV))
        if hook is not None:
            hook(summary, context)
    except Exception:  # noqa: BLE001 - the alert path must never raise over the original failure
        log.exception("alert hook %s failed", os.environ.get(HOOK_ENV))
    return summary
