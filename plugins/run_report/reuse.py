"""Which data steps of a run reused an earlier run's outputs, and whose (the report's "Data reuse" section).

A data step that found its content key in the reuse index (``tasks/core/reuse.py``) did no
work and says so in its result: ``reused_from`` names the dag, run and task whose outputs
it linked into this run's folder. Airflow 3 cannot recolour a task in the graph, so this
section (and the task's log line) is where a person sees it. The values come from step
results: all escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from mlops_pipeline.links import report_url

DATA_STEPS = ("fetch", "validate_raw", "prepare", "validate_prepared", "features", "split")


def reused_steps(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each task whose result says it reused earlier outputs, with the origin it names."""
    return {task_id: result["reused_from"] for task_id, result in results.items()
            if isinstance(result, dict) and isinstance(result.get("reused_from"), dict)}


def _run_cell(origin: dict[str, Any]) -> str:
    """The earlier run: a link to its report when its run id is known, else its artifact folder."""
    dag_id, run_id = origin.get("dag_id"), origin.get("run_id")
    if dag_id and run_id:
        return (f'<a href="{escape(report_url(str(dag_id), str(run_id)))}" target="_blank">'
                f"<code>{escape(str(run_id))}</code></a>")
    return f"<code>{escape(str(origin.get('run_folder') or origin.get('run') or '?'))}</code>"


def reuse_section(reused: dict[str, dict[str, Any]], ran: set[str] | None = None) -> str:
    """"N of 6 data steps reused ..." with one row per reused step; a muted line when all computed."""
    if not reused:
        if ran is not None and "fetch" not in ran:
            return ""
        return ("<h2>Data reuse</h2><p class='muted' id='data-reuse'>None: every data step computed its "
                "outputs in this run.</p>")
    rows = "".join(f"<tr><th>{escape(task_id)}</th><td>reused from run {_run_cell(origin)} "
                   f"(task <code>{escape(str(origin.get('task_id') or '?'))}</code>)</td></tr>"
                   for task_id, origin in sorted(reused.items(), key=lambda item: _order(item[0])))
    return (f"<h2>Data reuse</h2><p id='data-reuse'>{len(reused)} of {len(DATA_STEPS)} data steps reused an "
            "earlier run's outputs (same dataset bytes, settings and code; nothing recomputed):</p>"
            f"<table class='params' id='reused-steps'>{rows}</table>")


def _order(task_id: str) -> int:
    return DATA_STEPS.index(task_id) if task_id in DATA_STEPS else len(DATA_STEPS)
