"""The model card of the version a run registered, as a page (everything escaped: names come from data)."""

from __future__ import annotations

from html import escape
from typing import Any

from run_report.page import STYLE


def _rows(mapping: dict[str, Any]) -> str:
    return "".join(f"<tr><th>{escape(str(key))}</th><td class='text'><code>{escape(str(value))}</code></td></tr>"
                   for key, value in mapping.items())


COUNTS = ("test_rows", "support", "rows")  # whole numbers, even when a JSON round trip made them floats


def _number(value: Any, digits: int = 3, count: bool = False) -> str:
    """A figure as text (escaped where it is shown): counts and integers as integers (``176``, not ``176.000``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value if value is not None else "-")
    if isinstance(value, int) or (count and float(value).is_integer()):
        return str(int(value))
    return f"{value:.{digits}f}"


def model_card_page(card: dict[str, Any], live: str = "") -> str:
    """Intended use and limits first (what a reader must know before using it), then data, metrics, settings.

    ``live`` is the version's live figures, already escaped (``run_report.models.live_cell``).
    """
    model = card.get("model", {})
    title = f"Model card: {escape(str(model.get('name', '?')))} v{escape(str(model.get('version', '?')))}"
    per_class = "".join(
        "<tr><td class='text'>" + escape(str(row.get("class", ""))) + "</td>"
        + "".join(f"<td>{escape(_number(row.get(key)))}</td>" for key in ("precision", "recall", "f1"))
        + f"<td>{escape(_number(row.get('support'), count=True))}</td></tr>" for row in card.get("per_class", []))
    data = {**card.get("data", {})}
    data["categories"] = ", ".join(map(str, data.get("categories", [])))
    limits = "".join(f"<li>{escape(str(item))}</li>" for item in card.get("limits", []))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}"
            "td.text{text-align:left}</style></head><body>"
            f"<h1>{title}</h1><h2>Intended use</h2><p id='intended-use'>{escape(str(card.get('intended_use', '')))}</p>"
            f"<h2>Limits</h2><ul id='limits'>{limits}</ul>"
            + (f"<h2>Live monitoring</h2><p id='live'>{live}</p>" if live else "")
            + "<h2>Data</h2><table>" + _rows(data)
            + "</table><h2>Metrics</h2><table>"
            + _rows({key: _number(value, 4, count=key in COUNTS) for key, value in card.get("metrics", {}).items()})
            + "</table><h2>Per-class results</h2><table id='card-per-class'><tr><th>class</th><th>precision</th>"
            "<th>recall</th><th>F1</th><th>support</th></tr>" + per_class + "</table>"
            "<h2>Training settings</h2><table>" + _rows(card.get("training", {})) + "</table>"
            "<h2>Provenance</h2><table>" + _rows(model) + "</table>"
            "<p class='muted'>Stored with the version in MLflow: <code>model_card/model_card.json</code> and "
            "<code>model_card.md</code> in its run's artifacts.</p></body></html>")
