"""Two runs side by side: Params that differ, test metrics, curves overlaid, per-class F1, confusion matrices.

Both runs' values come from their artifacts and Airflow's record (run inputs, dataset
text): all escaped. Pictures are the runs' own confusion-matrix PNGs, inlined. Both runs'
curves share one epoch axis. When the runs saw images of different shapes or were tested
on different test sets, the page says so first: their test metrics are not like for like.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from run_report.curves import curve_svg
from run_report.page import STYLE

COMPARE_STYLE = (".changed td{background:#fff3c4}td.text{text-align:left}.side{display:flex;gap:16px;"
                 "flex-wrap:wrap}.side figure{margin:0}.warn{border:2px solid #c80;background:#fff6e0;"
                 "padding:6px 12px}")
# Params that decide which rows end up in the test split (with the dataset's bytes)
SPLIT_PARAMS = ("test_size", "random_state")


def _text(value: Any) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value))


def params_diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Only the Params whose values differ (a run's full list is in its report)."""
    names = [name for name in dict.fromkeys([*a, *b]) if a.get(name) != b.get(name)]
    if not names:
        return "<h2>Params</h2><p id='params-diff'>Same Params in both runs.</p>"
    rows = "".join(f"<tr class='changed'><td class='text'>{escape(name)}</td><td class='text'><code>"
                   f"{_text(a.get(name, '-'))}</code></td><td class='text'><code>{_text(b.get(name, '-'))}</code></td>"
                   "</tr>" for name in names)
    return (f"<h2>Params</h2><p id='params-diff'>{len(names)} differ.</p><table><tr><th>Param</th><th>A</th>"
            f"<th>B</th></tr>{rows}</table>")


def _figure(metrics: dict[str, Any] | None, key: str) -> str:
    value = (metrics or {}).get(key)
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def metrics_table(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    rows = []
    for key in ("accuracy", "loss", "macro_f1"):
        va, vb = (a or {}).get(key), (b or {}).get(key)
        delta = f"{vb - va:+.4f}" if isinstance(va, int | float) and isinstance(vb, int | float) else "-"
        rows.append(f"<tr><td class='text'>{key}</td><td>{_figure(a, key)}</td><td>{_figure(b, key)}</td>"
                    f"<td>{delta}</td></tr>")
    rows.append(f"<tr><td class='text'>test rows</td><td>{escape(str((a or {}).get('test_rows', '-')))}</td>"
                f"<td>{escape(str((b or {}).get('test_rows', '-')))}</td><td></td></tr>")
    return ("<h2>Test metrics</h2><table id='compare-metrics'><tr><th></th><th>A</th><th>B</th><th>B - A</th></tr>"
            + "".join(rows) + "</table>")


def per_class_f1(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    pa, pb = (a or {}).get("per_class", {}), (b or {}).get("per_class", {})
    order = list(dict.fromkeys([*(a or {}).get("classes", pa), *(b or {}).get("classes", pb)]))
    if not order:
        return ""
    rows = "".join(f"<tr><td class='text'>{escape(name)}</td><td>{_figure(pa.get(name), 'f1')}</td>"
                   f"<td>{_figure(pb.get(name), 'f1')}</td></tr>" for name in order)
    return f"<h2>Per-class F1</h2><table><tr><th>class</th><th>A</th><th>B</th></tr>{rows}</table>"


def overlaid_curves(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    charts = [curve_svg(f"validation {metric}", {"A": (a or {}).get(f"val_{metric}", []),
                                                 "B": (b or {}).get(f"val_{metric}", [])})
              for metric in ("accuracy", "loss")]
    return "<h2>Validation curves, A against B</h2>" + ("".join(charts) or "<p class='muted'>No curves.</p>")


def _shape(params: dict[str, Any]) -> str:
    return f"{params.get('image_height', '?')}x{params.get('image_width', '?')}"


def _test_set(run: dict[str, Any]) -> tuple[Any, ...]:
    """What decides the test rows: the dataset's bytes (or its URI if the hash is unknown), the split Params,
    and how many rows it held."""
    params = run.get("params") or {}
    return (run.get("dataset") or params.get("dataset_uri"), *(params.get(name) for name in SPLIT_PARAMS),
            (run.get("metrics") or {}).get("test_rows"))


def comparability_note(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A warning at the top when the runs' images or test sets differ (their metrics are not like for like)."""
    notes = []
    if _shape(a.get("params") or {}) != _shape(b.get("params") or {}):
        notes.append(f"<li>Different image shapes: A saw {escape(_shape(a['params']))} images, B "
                     f"{escape(_shape(b['params']))}. The models had different inputs.</li>")
    if _test_set(a) != _test_set(b):
        rows = [(r.get("metrics") or {}).get("test_rows", "?") for r in (a, b)]
        data = [str(r.get("dataset") or (r.get("params") or {}).get("dataset_uri") or "?") for r in (a, b)]
        notes.append("<li>Different test sets: A was tested on " + escape(str(rows[0])) + " rows of <code>"
                     + escape(data[0][:80]) + "</code>, B on " + escape(str(rows[1])) + " rows of <code>"
                     + escape(data[1][:80]) + "</code> (or with a different split). Test metrics are not measured "
                     "on the same images.</li>")
    if not notes:
        return ""
    return f"<div class='warn' id='not-comparable'><b>Not like for like</b><ul>{''.join(notes)}</ul></div>"


def compare_page(dag_id: str, runs: list[dict[str, Any]]) -> str:
    """``runs`` is two dicts with ``run_id``, ``params``, ``metrics``, ``history``, ``matrix`` (data URI) and
    ``dataset`` (the fetched data's sha256, if known)."""
    a, b = runs
    heading = "".join(f"<li><b>{label}</b>: <code>{escape(r['run_id'])}</code>{escape(r.get('note', ''))}</li>"
                      for label, r in zip("AB", runs, strict=True))
    matrices = "".join(f"<figure><figcaption>{label}</figcaption><img src=\"{escape(r['matrix'])}\" "
                       f"alt=\"confusion matrix of run {label}\"></figure>" if r.get("matrix") else
                       f"<p class='muted'>{label}: no confusion matrix.</p>"
                       for label, r in zip("AB", runs, strict=True))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Compare runs of {escape(dag_id)}</title>"
            f"<style>{STYLE}{COMPARE_STYLE}</style></head><body><h1>Compare runs of {escape(dag_id)}</h1>"
            f"<ul id='runs'>{heading}</ul>" + comparability_note(a, b) + params_diff(a["params"], b["params"])
            + metrics_table(a["metrics"], b["metrics"]) + overlaid_curves(a["history"], b["history"])
            + per_class_f1(a["metrics"], b["metrics"])
            + f"<h2>Confusion matrices</h2><div class='side' id='matrices'>{matrices}</div></body></html>")
