"""Our own Data Docs: one self-contained, escaped HTML page of a ``validation.json``.

Great Expectations' Data Docs put dataset text (column names, label values) into the
page unescaped and load their JavaScript and CSS from a CDN, so offline they show
nothing and a hostile header runs as script. This page has no script, no external
resource, inline CSS only, and every value that came from the data passes through
:func:`html.escape`. Stdlib only: the ``validate`` step writes it, and the run-report
plugin renders it on request from the same ``validation.json``.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

STYLE = """body{font-family:system-ui,sans-serif;margin:16px;color:#222}h1{font-size:20px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}.ok{color:#17672a;font-weight:bold}.bad{color:#a11;font-weight:bold}
code{white-space:pre-wrap;word-break:break-all}"""
LONG = 300  # characters of one value shown; the full text stays in validation.json
DETAIL_KEYS = ("observed_value", "element_count", "unexpected_count", "unexpected_share", "missing_count",
               "failing_columns", "examples", "mismatched", "exception")


def _text(value: Any) -> str:
    """Any JSON value as escaped, length-capped text."""
    shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    shown = shown if len(shown) <= LONG else shown[:LONG - 3] + "..."
    return escape(shown, quote=True)


def _verdict(ok: Any) -> str:
    return '<span class="ok">passed</span>' if ok else '<span class="bad">failed</span>'


def _details(record: dict[str, Any]) -> str:
    items = [f"<b>{escape(key)}</b>: <code>{_text(record[key])}</code>" for key in DETAIL_KEYS
             if record.get(key) not in (None, [], "")]
    return "<br>".join(items)


def _row(record: dict[str, Any]) -> str:
    cells = (_verdict(record.get("success")), _text(record.get("rule") or record.get("type") or "?"),
             _text(record.get("batch") or ""), _text(record.get("column") or ""), _details(record),
             f"<code>{_text(record.get('kwargs') or {})}</code>")
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def render_validation_page(report: dict[str, Any], title: str = "Data validation") -> str:
    """The page for one ``validation.json`` (as ``tasks/steps/validate.py`` writes it): verdict, counts, every rule."""
    summary = report.get("summary") or {}
    records = [r for r in report.get("expectations") or [] if isinstance(r, dict)]
    records.sort(key=lambda r: bool(r.get("success")))  # failures first
    parameters = report.get("parameters") or {}
    params = "".join(f"<tr><th>{_text(k)}</th><td><code>{_text(v)}</code></td></tr>" for k, v in parameters.items())
    heading = escape(f"{title}: {report.get('suite', '?')} suite")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{heading}</title><style>{STYLE}</style>"
            f"</head><body><h1>{heading}</h1>"
            f"<p id='verdict'>Result: {_verdict(report.get('success'))} &mdash; {_text(summary.get('successful', '?'))}"
            f" of {_text(summary.get('evaluated', '?'))} expectations met.</p>"
            f"<p>Input: <code>{_text(report.get('input', ''))}</code></p>"
            "<table id='expectations'><tr><th>result</th><th>rule</th><th>batch</th><th>column</th>"
            "<th>observed</th><th>arguments</th></tr>" + "".join(_row(r) for r in records) + "</table>"
            + (f"<h2>Parameters</h2><table>{params}</table>" if params else "") + "</body></html>")


