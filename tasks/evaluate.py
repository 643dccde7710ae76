"""Score the trained model on the held-out test split.

Writes ``metrics.json`` (accuracy, loss, per-class precision/recall/F1, the
confusion matrix), ``confusion_matrix.png`` and a report in Markdown and HTML.
The gate decides on the accuracy printed here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tasks.arrays import load_bundle
from tasks.common import StepError, atomic_file, run_cli, write_json
from tasks.encoding import class_indices
from tasks.model_io import check_input_shape, load_model
from tasks.report import html_report, markdown_report, plot_confusion_matrix


def evaluate(model_uri: str, test_uri: str, output: Path, batch_size: int = 256) -> dict:
    """Evaluate and write the metrics, the matrix image and the reports under ``output``."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    test = load_bundle(test_uri)
    if len(test) == 0:
        raise StepError(f"{test_uri}: test split is empty")
    model = load_model(model_uri)
    check_input_shape(model, test.x.shape, test_uri)
    loss, _ = model.evaluate(test.x, test.y, batch_size=batch_size, verbose=0)
    predicted = np.asarray(model.predict(test.x, batch_size=batch_size, verbose=0)).argmax(axis=1)
    truth = class_indices(test.y)
    codes = list(range(len(test.classes)))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=codes, zero_division=0)
    matrix = confusion_matrix(truth, predicted, labels=codes)
    present = support > 0
    metrics = {
        "model": model_uri,
        "test_rows": len(test),
        "accuracy": float((predicted == truth).mean()),
        "loss": float(loss),
        "macro_f1": float(f1[present].mean()),
        "classes": list(test.classes),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                             "support": int(support[i])} for i, name in enumerate(test.classes)},
        "confusion_matrix": matrix.tolist(),
    }
    output.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(matrix, test.classes, output / "confusion_matrix.png",
                          f"accuracy {metrics['accuracy']:.4f} on {len(test)} test images")
    for name, text in (("report.md", markdown_report(metrics, "confusion_matrix.png")),
                       ("report.html", html_report(metrics, "confusion_matrix.png"))):
        with atomic_file(output / name) as tmp:
            tmp.write_text(text)
    write_json(output / "metrics.json", metrics)
    return {"metrics": str(output / "metrics.json"), "report": str(output / "report.html"),
            "confusion_matrix": str(output / "confusion_matrix.png"), "model": model_uri,
            "accuracy": metrics["accuracy"], "loss": metrics["loss"], "test_rows": len(test)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks evaluate", description=__doc__)
    parser.add_argument("--model", required=True, help="trained .keras model")
    parser.add_argument("--test", required=True, help="test bundle (.npz)")
    parser.add_argument("--output", required=True, type=Path, help="step output folder")
    a = parser.parse_args(argv)
    return run_cli("evaluate", lambda: evaluate(a.model, a.test, a.output))


if __name__ == "__main__":
    raise SystemExit(main())
