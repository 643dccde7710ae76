"""Training curves as inline SVG: no JavaScript, no CDN, no matplotlib in the API server.

The API server renders the report on every view; drawing two polylines by hand costs
microseconds and keeps the plugin free of heavy imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT, PAD = 420, 220, 36
COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "A": "#1f77b4", "B": "#d62728"}


def _points(values: Sequence[float], low: float, high: float, epochs: int) -> str:
    """Polyline coordinates of ``values`` scaled into the plot area, on an x axis of ``epochs`` epochs.

    Every series of a chart shares that axis: a 27-epoch run ends at 27 of 100, not at the right edge.
    """
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(epochs - 1, 1)
    return " ".join(f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
                    for i, v in enumerate(values))


def _axes(title: str, low: float, high: float, epochs: int) -> list[str]:
    """Frame, title and the value range, so a curve can be read without hovering."""
    bottom, right = HEIGHT - PAD, WIDTH - PAD
    return [
        f'<rect x="{PAD}" y="{PAD}" width="{right - PAD}" height="{bottom - PAD}" fill="none" stroke="#999"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end" font-size="10">{high:.3g}</text>',
        f'<text x="{PAD - 4}" y="{bottom}" text-anchor="end" font-size="10">{low:.3g}</text>',
        f'<text x="{PAD}" y="{bottom + 14}" font-size="10">1</text>',
        f'<text x="{right}" y="{bottom + 14}" text-anchor="end" font-size="10">epoch {epochs}</text>',
    ]


def curve_svg(title: str, series: Mapping[str, Sequence[float]]) -> str:
    """One chart with a line per named series (e.g. train and validation loss); empty if no data.

    The x axis spans the longest series: each point is drawn at its epoch, whatever the others' lengths.
    """
    series = {name: [float(v) for v in values] for name, values in series.items() if values}
    if not series:
        return ""
    every = [v for values in series.values() for v in values]
    low, high = min(every), max(every)
    epochs = max(len(values) for values in series.values())
    parts = _axes(title, low, high, epochs)
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS.get(name, "#2ca02c")
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{_points(values, low, high, epochs)}"><title>{escape(name)}</title></polyline>')
        parts.append(f'<text x="{WIDTH - PAD - 4}" y="{PAD + 14 + 12 * i}" text-anchor="end" font-size="11" '
                     f'fill="{colour}">{escape(name)}</text>')
    body = "".join(parts)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
            f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">{body}</svg>')


def history_charts(history: Mapping[str, Sequence[float]] | None) -> list[str]:
    """Accuracy and loss charts from Keras' ``history.json`` (train and ``val_`` series)."""
    if not history:
        return []
    charts = []
    for metric in ("accuracy", "loss"):
        svg = curve_svg(metric, {"train": history.get(metric, []), "validation": history.get(f"val_{metric}", [])})
        if svg:
            charts.append(svg)
    return charts
