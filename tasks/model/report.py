"""Render evaluation results for people: the confusion-matrix PNG and a Markdown/HTML report."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from tasks.core.common import atomic_file


def plot_confusion_matrix(matrix: np.ndarray, classes: tuple[str, ...], path: Path, title: str) -> None:
    """Save the confusion matrix as a PNG heat map with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6.5), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > threshold else "black")
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def markdown_report(metrics: dict, image_name: str) -> str:
    """A short Markdown report: headline figures, per-class table, the matrix image."""
    lines = [
        f"# Evaluation of `{metrics['model']}`",
        "",
        f"- test rows: {metrics['test_rows']}",
        f"- accuracy: **{metrics['accuracy']:.4f}**",
        f"- loss: {metrics['loss']:.4f}",
        f"- macro F1: {metrics['macro_f1']:.4f}",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for name, row in metrics["per_class"].items():
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |")
    lines += ["", f"![confusion matrix]({image_name})", ""]
    return "\n".join(lines)


def html_report(metrics: dict, image_name: str) -> str:
    """The same report as a standalone HTML page."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{r['precision']:.3f}</td><td>{r['recall']:.3f}</td>"
        f"<td>{r['f1']:.3f}</td><td>{r['support']}</td></tr>"
        for name, r in metrics["per_class"].items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Evaluation report</title></head><body>"
        f"<h1>Evaluation of <code>{html.escape(metrics['model'])}</code></h1>"
        f"<p>test rows {metrics['test_rows']} &middot; accuracy <b>{metrics['accuracy']:.4f}</b> &middot; "
        f"loss {metrics['loss']:.4f} &middot; macro F1 {metrics['macro_f1']:.4f}</p>"
        "<table border='1' cellpadding='4'><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
        f"<th>support</th></tr>{rows}</table>"
        f"<p><img src='{html.escape(image_name)}' alt='confusion matrix'></p></body></html>"
    )
