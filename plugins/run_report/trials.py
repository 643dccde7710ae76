"""The tuning trials of a run: a table and one parallel-coordinates chart of the metric against the settings.

``pick_best`` writes ``<run>/tuning/trials.json`` (``tasks.model.tuning.trials_table``);
this renders it as the rest of the report is rendered: escaped HTML and inline SVG, no
JavaScript. In the chart each trial is a line through one axis per searched setting and
a last axis for the validation metric; pruned and failed trials are dashed and grey.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 240, 40
BEST, KEPT, DROPPED = "#d62728", "#1f77b4", "#aaaaaa"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def trials_rows(table: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: trial, each searched setting, best epoch, metric, pruned, seconds (best trial first)."""
    trials = table.get("trials") or []
    names = list(dict.fromkeys(name for row in trials for name in row.get("settings", {})))
    reverse = table.get("direction") == "maximize"
    ordered = sorted(trials, key=lambda r: (r.get("value") is None or r.get("state") != "complete",
                                            -(r.get("value") or 0) if reverse else (r.get("value") or 0)))
    header = ["trial", *names, "best epoch", str(table.get("metric") or "metric"), "pruned", "seconds"]
    rows = [[str(r["number"]), *(_figure(r["settings"].get(n)) for n in names), _figure(r.get("best_epoch")),
             _figure(r.get("value")), "yes" if r.get("pruned") else ("failed" if r.get("state") == "fail" else "no"),
             _figure(r.get("seconds"))] for r in ordered]
    return header, rows


def _scale(values: list[Any]) -> Any:
    """A function placing a value on its axis in [0, 1]: choices evenly, numbers linearly or (wide) on a log scale."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        order = list(dict.fromkeys(map(str, values)))
        return lambda v: order.index(str(v)) / max(len(order) - 1, 1)
    low, high = min(numbers), max(numbers)
    if low > 0 and high / low >= 10:
        low, high = math.log(low), math.log(high)
        return lambda v: (math.log(v) - low) / ((high - low) or 1)
    return lambda v: (v - low) / ((high - low) or 1)


def trials_chart(table: dict[str, Any]) -> str:
    """The parallel-coordinates SVG, or ``""`` when no trial has a value."""
    trials = [r for r in table.get("trials") or [] if r.get("value") is not None]
    if not trials:
        return ""
    metric = str(table.get("metric") or "metric")
    axes = [*dict.fromkeys(n for r in trials for n in r["settings"]), metric]
    value_of = {id(r): {**r["settings"], metric: r["value"]} for r in trials}
    scales = {a: _scale([value_of[id(r)][a] for r in trials]) for a in axes}
    step = (WIDTH - 2 * PAD) / max(len(axes) - 1, 1)
    best = max if table.get("direction") == "maximize" else min
    winner = best((r for r in trials if r.get("state") == "complete"), key=lambda r: r["value"], default=None)
    parts = [f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(metric)} against the '
             'searched settings</text>']
    for i, axis in enumerate(axes):
        x = PAD + i * step
        parts.append(f'<line x1="{x}" y1="{PAD}" x2="{x}" y2="{HEIGHT - PAD}" stroke="#999"/>'
                     f'<text x="{x}" y="{HEIGHT - PAD + 16}" text-anchor="middle" font-size="11">{escape(axis)}</text>')
    span = HEIGHT - 2 * PAD
    for r in sorted(trials, key=lambda r: r is winner):  # the best trial is drawn last, on top
        points = " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - scales[a](value_of[id(r)][a]) * span:.1f}"
                          for i, a in enumerate(axes))
        kept = r.get("state") == "complete"
        colour = BEST if r is winner else (KEPT if kept else DROPPED)
        dashes = "" if kept else ' stroke-dasharray="4 3"'
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="{3 if r is winner else 1.5}"'
                     f'{dashes} points="{points}">'
                     f'<title>trial {r["number"]}: {escape(metric)} {r["value"]:.4g} ({escape(r["state"])})</title>'
                     "</polyline>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(metric)} against the searched '
            f'settings" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">{"".join(parts)}</svg>')


def trials_section(table: dict[str, Any] | None) -> str:
    """The report's tuning section; empty for a run that did not tune."""
    if not table or not table.get("trials"):
        return ""
    header, rows = trials_rows(table)
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    pruned = sum(r.get("pruned", False) for r in table["trials"])
    return (f"<h2 id='tuning'>Tuning trials</h2><p>{len(rows)} trials on the train and validation rows, {pruned} "
            f"pruned; build_model and train used the best (first row).</p>"
            f"<table id='trials'><tr>{head}</tr>{body}</table>{trials_chart(table)}")
