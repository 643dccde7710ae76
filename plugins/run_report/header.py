"""The top of the run report: why the run failed (first, when it did), its settings and its data.

Params, URIs and failure reasons are run inputs or derived from datasets: all escaped.
The log link goes to the Airflow UI's task-instance page (same origin, new tab: the
report itself is a sandboxed document).
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from tasks.contracts import CONTRACTS

HEADER_STYLE = (".changed td{background:#fff3c4;font-weight:bold}.failure{border:2px solid #a11;background:#fff0f0;"
                "padding:6px 12px}.failure p{margin:4px 0;white-space:pre-wrap;word-break:break-word}"
                "table.params td{text-align:left}code{word-break:break-all}")


def form_defaults() -> dict[str, Any]:
    """Every trigger-form setting's default, from the step contracts (what a run gets when conf omits it)."""
    return {s.name: s.default for contract in CONTRACTS.values() for s in contract.settings if s.form}


def effective_params(conf: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """The values a run used: its conf over the DAG's defaults (conf keys the DAG lacks are shown too)."""
    return {**defaults, **(conf or {})}


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def params_section(params: dict[str, Any], defaults: dict[str, Any]) -> str:
    """Each Param with its value; the ones changed from the default first and highlighted."""
    if not params:
        return "<h2>Settings (Params)</h2><p class='muted'>Not available: the run's Params are unknown.</p>"
    changed = [name for name in params if name not in defaults or params[name] != defaults[name]]
    rows = []
    for name in [*changed, *(n for n in params if n not in changed)]:
        is_changed = name in changed
        default = _shown(defaults[name]) if name in defaults else "(not a Param of this DAG)"
        rows.append(f'<tr class="{"changed" if is_changed else "default"}"><td>{escape(name)}</td>'
                    f"<td><code>{escape(_shown(params[name]))}</code></td><td><code>{escape(default)}</code></td></tr>")
    return (f"<h2>Settings (Params)</h2><p id='params-changed'>{len(changed)} changed from the default"
            + (f": {escape(', '.join(changed))}" if changed else "") + "</p>"
            "<table class='params'><tr><th>Param</th><th>this run</th><th>default</th></tr>"
            + "".join(rows) + "</table>")


def lineage_section(fetched: dict[str, Any] | None, resolved: dict[str, Any] | None) -> str:
    """Which data the run trained on: URI, content hash, store version and what triggered it."""
    fetched, resolved = fetched or {}, resolved or {}
    if not fetched and not resolved:
        return "<h2>Data</h2><p class='muted'>Not available: the dataset has not been resolved (yet).</p>"
    rows = [("dataset URI", fetched.get("source") or resolved.get("uri")), ("sha256", fetched.get("sha256")),
            ("rows fetched", fetched.get("rows")), ("version", resolved.get("version")),
            ("trigger", resolved.get("trigger"))]
    body = "".join(f"<tr><th>{label}</th><td><code>{escape(_shown(value) if value not in (None, '') else '-')}"
                   "</code></td></tr>" for label, value in rows)
    return f"<h2>Data</h2><table class='params' id='lineage'>{body}</table>"


def log_url(dag_id: str, run_id: str, task_id: str, try_number: Any = None) -> str:
    """The Airflow UI's page of a task instance (its log)."""
    url = f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
    return url + (f"?try_number={int(try_number)}" if isinstance(try_number, int) else "")


def failure_section(dag_id: str, run_id: str, failures: list[dict[str, Any]]) -> str:
    """For a failed run: each failed step, its one-line reason and a link to its log. Empty otherwise."""
    if not failures:
        return ""
    items = []
    for failure in failures:
        task_id = str(failure.get("task_id", "?"))
        reason = failure.get("reason") or "no reason recorded: see the log"
        items.append(f"<p><b>{escape(task_id)}</b> failed: <span class='reason'>{escape(str(reason))}</span> "
                     f'&middot; <a href="{escape(log_url(dag_id, run_id, task_id, failure.get("try_number")))}" '
                     'target="_blank">log</a></p>')
    return ('<div class="failure" id="failure"><h2>This run failed</h2>' + "".join(items)
            + "<p class='muted'>Sections below whose step did not run say which failure stopped it.</p></div>")
