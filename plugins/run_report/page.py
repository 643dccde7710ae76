"""The run report as one self-contained HTML page (inline CSS and SVG, nothing from the internet).

Every value from an artifact file is escaped: the files are written by steps that
read user data (category names, URIs), and the page is shown inside the Airflow UI.
The outcome (test accuracy, gate decision, deployed or not) comes first. A section whose
step has not run says why: not (yet), or that it did not run because an earlier step failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from run_report.curves import history_charts
from run_report.header import HEADER_STYLE
from run_report.pictures import GRID_STYLE
from run_report.skew import SKEW_STYLE

STYLE = """body{font-family:system-ui,sans-serif;margin:16px;color:#222}h1{font-size:20px}
h2{font-size:16px;border-bottom:1px solid #ddd;padding-bottom:2px;margin-top:22px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}.ok{color:#17672a;font-weight:bold}.bad{color:#a11;font-weight:bold}
.muted{color:#777}.big{font-size:28px;font-weight:bold}img{max-width:520px}svg{margin-right:12px}"""
NOT_YET = '<p class="muted">Not available: the step has not run (yet) in this run.</p>'
OUTCOME_STYLE = ".outcome{border:2px solid #ccd;background:#f6f8ff;padding:6px 12px}.outcome p{margin:4px 0}"


def absent(task_id: str, failed: Sequence[str] = ()) -> str:
    """Why a section has nothing to show: the step failed, did not run because another failed, or not yet."""
    if not failed:
        return NOT_YET
    if task_id in failed:
        return f'<p class="bad">Not available: {escape(task_id)} failed (the reason is at the top).</p>'
    return f'<p class="muted">Did not run: {escape(failed[0])} failed.</p>'


def _verdict(ok: bool | None, yes: str = "passed", no: str = "failed") -> str:
    if ok is None:
        return '<span class="muted">undecided</span>'
    return f'<span class="ok">{yes}</span>' if ok else f'<span class="bad">{no}</span>'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def validation_section(artifacts: dict[str, Any], failed: Sequence[str] = ()) -> str:
    """Each validation suite's verdict and counts, with a link to its Data Docs."""
    rows = []
    for step in ("validate_raw", "validate_prepared"):
        report = artifacts.get(step)
        if not report:
            rows.append(f"<li><b>{step}</b>: {absent(step, failed)}</li>")
            continue
        summary = report.get("summary", {})
        broken = [e.get("rule", e.get("type", "?")) for e in report.get("expectations", []) if not e.get("success")]
        rows.append(f"<li><b>{step}</b> ({escape(str(report.get('suite', '')))} suite): "
                    f"{_verdict(report.get('success'))}, {escape(str(summary.get('successful', '?')))} of "
                    f"{escape(str(summary.get('evaluated', '?')))} expectations met"
                    + (f" &mdash; failed: {escape('; '.join(broken))}" if broken else "")
                    + f' &middot; <a href="data-docs/{step}/index.html" target="_blank">Data Docs</a></li>')
    return "<h2>Data validation</h2><ul>" + "".join(rows) + "</ul>"


def cleaning_section(report: dict[str, Any] | None, failed: Sequence[str] = ()) -> str:
    """How many rows cleaning dropped, and why."""
    if not report:
        return "<h2>Cleaning</h2>" + absent("prepare", failed)
    return "<h2>Cleaning</h2>" + _table(
        ["rows in", "dropped: empty cells", "dropped: invalid label", "rows out"],
        [[report.get("rows_in"), report.get("dropped_empty_cells"), report.get("dropped_invalid_label"),
          report.get("rows_out")]])


def training_section(history: dict[str, Any] | None, failed: Sequence[str] = ()) -> str:
    """Accuracy and loss per epoch, train against validation."""
    charts = history_charts(history)
    if not charts:
        return "<h2>Training curves</h2>" + absent("train", failed)
    epochs = len(history.get("loss", []))
    return f"<h2>Training curves</h2><p>{epochs} epochs run (early stopping may end before the maximum).</p>" \
        + "".join(charts)


def metrics_section(metrics: dict[str, Any] | None, confusion_matrix: str | None = None,
                    failed: Sequence[str] = ()) -> str:
    """Test accuracy, loss, macro F1, per-class scores and the confusion matrix image."""
    if not metrics:
        return "<h2>Test metrics</h2>" + absent("evaluate", failed)
    per_class = metrics.get("per_class", {})
    order = [name for name in metrics.get("classes", []) if name in per_class]  # label-code order
    order += [name for name in per_class if name not in order]
    rows = [[name, f"{s.get('precision', 0):.3f}", f"{s.get('recall', 0):.3f}", f"{s.get('f1', 0):.3f}",
             s.get("support")] for name, s in ((name, per_class[name]) for name in order)]
    return ("<h2>Test metrics</h2>"
            f'<p>Test accuracy <b>{metrics.get("accuracy", 0):.4f}</b> '
            f'&middot; loss {metrics.get("loss", 0):.4f} &middot; macro F1 {metrics.get("macro_f1", 0):.4f} '
            f'&middot; {escape(str(metrics.get("test_rows", "?")))} test images</p>'
            + _table(["class", "precision", "recall", "F1", "support"], rows)
            + '<h2>Confusion matrix</h2><img id="confusion-matrix" '
              f'src="{escape(confusion_matrix or "confusion_matrix.png")}" alt="confusion matrix of the test split">')


def _undecided(failed: Sequence[str]) -> str:
    return f"did not run: {failed[0]} failed" if failed else "the gate has not decided (yet)"


def gate_section(gate: dict[str, Any], registration: dict[str, Any] | None, mlflow_ui: str,
                 failed: Sequence[str] = ()) -> str:
    """The gate's decision and reason, and the champion the challenger was compared with."""
    decision = _verdict(gate.get("deploy"), "deploy", "do not deploy")
    reason = escape(gate.get("reason") or _undecided(failed))
    parts = [f'<h2>Gate</h2><p id="gate">Decision: {decision} &mdash; {reason}</p>']
    if not registration:
        return "".join(parts) + "<h2>Champion</h2>" + absent("register", failed)
    name, version = escape(str(registration.get("model_name"))), registration.get("version")
    champion = registration.get("champion_version")
    parts.append(f"<h2>Model registry</h2><p>This run registered <b>{name}</b> version {escape(str(version))} "
                 f'(<a href="mlflow/model-version" target="_blank">MLflow model version</a>, '
                 f'<a href="mlflow/run" target="_blank">MLflow run</a>; MLflow UI at {escape(mlflow_ui)}).</p>')
    found = registration.get("champion") or {}
    if found.get("problem"):
        label = f"champion <b>v{escape(str(champion))}</b>" if champion is not None else "the champion"
        parts.append(f'<p id="comparison">Could not compare with {label}: {escape(str(found["problem"]))}. '
                     "Promotion is blocked: set model_name to register a separate model, or "
                     "replace_incompatible_champion to replace it.</p>")
    elif champion is None:
        parts.append("<p>Champion: none yet, this was the first model of its name.</p>")
    else:
        parts.append(comparison_section(champion, found.get("table") or registration, gate))
    return "".join(parts)


def _figure(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "n/a"


def comparison_section(champion: Any, table: dict[str, Any], gate: dict[str, Any]) -> str:
    """Champion and challenger on the same test rows, which neither trained on: the figures the gate used."""
    p_value = table.get("p_value")
    rows = [["rows compared (unseen by both)", f"{table.get('rows', 'n/a')} of {table.get('test_rows', 'n/a')}"],
            [f"champion v{champion} accuracy on them", _figure(table.get("champion_accuracy"))],
            ["challenger accuracy on them", _figure(table.get("challenger_accuracy"))],
            ["difference (challenger - champion)", _figure(table.get("difference"))],
            ["McNemar exact p-value", f"{p_value:.4g}" if isinstance(p_value, float) else "n/a"],
            ["champion accuracy on the whole test split (leaky)",
             _figure(table.get("champion_accuracy_all_test_rows"))],
            ["decision", {True: "deploy", False: "keep the champion"}.get(gate.get("deploy"), "undecided")],
            ["why", gate.get("reason") or "the gate has not decided (yet)"]]
    return (f'<p>Compared with champion <b>v{escape(str(champion))}</b> on the test rows neither model trained '
            "on:</p>" + _table(["", "value"], rows).replace("<table>", '<table id="comparison">', 1))


def _deployed(gate: dict[str, Any], registration: dict[str, Any] | None, deploy_state: str | None,
              failed: Sequence[str]) -> str:
    """Whether this run's model now serves: from the deploy task's state, not from the gate's wish."""
    model = (f"{escape(str(registration.get('model_name')))} v{escape(str(registration.get('version')))}"
             if registration else "the model")
    if deploy_state == "success":
        return f'<span class="ok">deployed</span>: {model} was made champion (served) by this run'
    if deploy_state == "failed":
        return '<span class="bad">not deployed</span>: deploy failed'
    if gate.get("deploy") is False:
        return '<span class="bad">not deployed</span>: the gate kept the champion'
    if failed:
        return f'<span class="bad">not deployed</span>: {escape(failed[0])} failed'
    return '<span class="muted">not deployed (yet)</span>'


def outcome_section(artifacts: dict[str, Any], gate: dict[str, Any], deploy_state: str | None = None,
                    failed: Sequence[str] = ()) -> str:
    """What the run came to, first: test accuracy, the gate's decision and whether the model was deployed."""
    metrics = artifacts.get("evaluate") or {}
    accuracy = metrics.get("accuracy")
    tested = (f'<span class="big" id="accuracy">{accuracy:.4f}</span> on '
              f"{escape(str(metrics.get('test_rows', '?')))} test images"
              if isinstance(accuracy, int | float) else
              (f'<span class="muted">not tested: {escape(failed[0])} failed</span>' if failed
               else '<span class="muted">not tested (yet)</span>'))
    decision = _verdict(gate.get("deploy"), "deploy", "do not deploy")
    why = escape(gate.get("reason") or _undecided(failed))
    return ('<div class="outcome" id="outcome"><h2>Outcome</h2>'
            f"<p>Test accuracy {tested}</p><p id='outcome-gate'>Gate: {decision} &mdash; {why}</p>"
            f"<p id='deployed'>{_deployed(gate, artifacts.get('register'), deploy_state, failed)}</p></div>")


def render(dag_id: str, run_id: str, artifacts: dict[str, Any], gate: dict[str, Any], mlflow_ui: str,
           confusion_matrix: str | None = None, header: str = "", pictures: str = "",
           failed: Sequence[str] = (), deploy_state: str | None = None, tuning: str = "") -> str:
    """The whole report page for one run; ``confusion_matrix`` is the image's (``data:``) URL if inlined.

    ``header`` (failure summary, Params, data lineage, code version) and ``pictures`` (the test-image grid)
    are already rendered and escaped by ``run_report.header`` and ``run_report.pictures``;
    ``failed`` names the run's failed tasks in the order they ran, ``deploy_state`` the deploy task's state,
    ``tuning`` the rendered trials section (``run_report.trials``; empty for a run that did not tune).
    """
    title = f"Run report: {escape(dag_id)} / {escape(run_id)}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}{OUTCOME_STYLE}{HEADER_STYLE}{GRID_STYLE}{SKEW_STYLE}</style></head><body><h1>{title}</h1>"
            + outcome_section(artifacts, gate, deploy_state, failed) + header
            + validation_section(artifacts, failed) + cleaning_section(artifacts.get("prepare"), failed)
            + tuning + training_section(artifacts.get("train"), failed)
            + metrics_section(artifacts.get("evaluate"), confusion_matrix, failed)
            + pictures + gate_section(gate, artifacts.get("register"), mlflow_ui, failed) + "</body></html>")
