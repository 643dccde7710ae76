"""The model history page (every version, its gate decision, promotions and rollbacks) and the "superseded" note.

Reasons, names and run ids are run inputs or registry text: all escaped; links to run
reports are same-origin paths built with ``report_url`` (each part URL-encoded).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from mlops_pipeline.links import report_url
from run_report.page import STYLE

PAGE_STYLE = ".champion td{background:#e8f6ea;font-weight:bold}td.text{text-align:left;min-width:200px}"


def _decision(gate: dict[str, Any] | None) -> str:
    if not gate or gate.get("deploy") is None:
        return '<span class="muted">undecided / unknown</span>'
    word = '<span class="ok">deploy</span>' if gate["deploy"] else '<span class="bad">do not deploy</span>'
    return f"{word}: {escape(str(gate.get('reason') or ''))}"


def _promotion(entry: dict[str, Any]) -> str:
    return (f"{escape(str(entry.get('action', '?')))} by {escape(str(entry.get('by', '?')))} at "
            f"{escape(str(entry.get('at', '?')))}: {escape(str(entry.get('reason', '')))}")


def _run_link(version: dict[str, Any]) -> str:
    if not version.get("dag_id") or not version.get("airflow_run_id"):
        return '<span class="muted">no Airflow run recorded</span>'
    url = report_url(str(version["dag_id"]), str(version["airflow_run_id"]))
    return f'<a href="{escape(url)}" target="_blank">{escape(str(version["airflow_run_id"]))}</a>'


def live_cell(figures: dict[str, Any] | None) -> str:
    """Live accuracy on users' labels (count, Wilson 95% interval) and the last monitoring run's drift."""
    if not figures or not figures.get("predictions"):
        return '<span class="muted">no feedback yet</span>'
    accuracy = figures.get("accuracy")
    text = (f"<b>{accuracy:.4f}</b> on {int(figures['labelled'])} labelled (95% CI "
            f"{figures['interval'][0]:.3f}-{figures['interval'][1]:.3f})" if isinstance(accuracy, int | float)
            else f"{int(figures['labelled'])} labelled")
    text += f" of {int(figures['predictions'])} answered"
    check = figures.get("check") or {}
    drift = [f"{name} PSI {check[key]:.3f}" for name, key in (("class", "class_psi"), ("input", "intensity_psi"))
             if isinstance(check.get(key), int | float)]
    if drift:
        text += f"<br>drift at {escape(str(check.get('checked_at', '?'))[:16])}: {escape(', '.join(drift))}"
    if check.get("reasons"):
        text += f"<br><span class='bad'>{escape('; '.join(map(str, check['reasons'])))}</span>"
    return text


def history_page(data: dict[str, Any], gates: dict[str, dict[str, Any]],
                 live: dict[str, dict[str, Any]] | None = None) -> str:
    """One page per registered model; ``gates`` maps an Airflow run id to its gate outcome, ``live`` a version
    to its live figures (``run_report.feedback.live_reader``)."""
    live = live or {}
    name = escape(str(data.get("model_name", "")))
    champion = data.get("champion")
    rows = []
    for v in data.get("versions", []):
        is_champion = v.get("version") == champion
        accuracy = f"{v['accuracy']:.4f}" if isinstance(v.get("accuracy"), int | float) else "-"
        promotions = "<br>".join(_promotion(e) for e in v.get("promotions", [])) or '<span class="muted">never</span>'
        rows.append(f'<tr class="{"champion" if is_champion else "version"}" id="v{int(v["version"])}">'
                    f"<td>v{int(v['version'])}{' &#9733; champion' if is_champion else ''}</td><td>{accuracy}</td>"
                    f"<td class='text live'>{live_cell(live.get(str(int(v['version']))))}</td>"
                    f"<td class='text'>{_decision(gates.get(str(v.get('airflow_run_id'))))}</td>"
                    f"<td class='text'>{promotions}</td><td class='text'>{_run_link(v)}</td>"
                    f"<td class='text'><code>{escape(str(v.get('run_id') or ''))}</code></td></tr>")
    if not rows:
        body = "<p class='muted'>No registered versions of this model (yet).</p>"
    else:
        body = ("<table id='versions'><tr><th>version</th><th>test accuracy</th><th>live accuracy and drift</th>"
                "<th>gate decision</th>"
                "<th>promotions and rollbacks (who, when, why)</th><th>run report</th><th>MLflow run</th></tr>"
                + "".join(rows) + "</table>")
    events = "".join(f"<li>v{escape(str(e.get('version')))} (champion before: "
                     f"{'v' + escape(str(e['previous_version'])) if e.get('previous_version') else 'none'}): "
                     f"{_promotion(e)}</li>" for e in data.get("history", []))
    current = f"v{int(champion)}" if champion is not None else "none"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Model history: {name}</title>"
            f"<style>{STYLE}{PAGE_STYLE}</style></head><body><h1>Model history: {name}</h1>"
            f"<p>Current champion: <b id='champion'>{current}</b> &middot; <a id='feedback' href='feedback' "
            "target='_blank'>Send an image and its label</a></p>"
            f"{body}"
            f"<h2>Promotions and rollbacks, oldest first</h2><ol id='events'>{events}</ol></body></html>")


def superseded_note(model_name: str, version: int, replaced_by: dict[str, Any] | None, history_url: str) -> str:
    """The report of a version that was champion and is no longer says who replaced it, when and why."""
    if not replaced_by:
        return ""
    return (f'<p class="bad" id="superseded">{escape(model_name)} v{int(version)} was champion and has been '
            f"superseded: v{escape(str(replaced_by.get('version')))} replaced it ({_promotion(replaced_by)}). "
            f'<a href="{escape(history_url)}" target="_blank">Model history</a></p>')


def models_page(dag_id: str, models: list[dict[str, Any]]) -> str:
    """Every model the DAG's runs registered, each linking to its history (the navigation's entry page)."""
    rows = "".join(
        f"<tr><td class='text'><a href='{quote(str(m['model_name']), safe='')}/'>{escape(str(m['model_name']))}</a>"
        f"</td><td>{int(m['versions'])}</td><td>v{int(m['newest'])}</td>"
        f"<td>{'v' + str(int(m['champion'])) if m.get('champion') is not None else 'none'}</td></tr>"
        for m in models)
    body = ("<table id='models'><tr><th>model</th><th>versions</th><th>newest</th><th>champion</th></tr>"
            + rows + "</table>") if rows else "<p class='muted'>No run of this DAG has registered a model (yet).</p>"
    title = f"Models trained by {escape(dag_id)}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}{PAGE_STYLE}</style></head><body><h1>{title}</h1>"
            "<p>A run that leaves <code>model_name</code> empty registers under a name derived from its images "
            "and categories.</p>" + body + "</body></html>")

