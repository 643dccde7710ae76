"""Score the trained model on the held-out test split.

Writes ``metrics.json`` (accuracy, loss, per-class precision/recall/F1, the
confusion matrix), ``confusion_matrix.png`` and a report in Markdown and HTML.
The gate decides on the accuracy printed here.
"""

from __future__ import annotations

from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError, atomic_file, write_json
from tasks.core.contract import run_step
from tasks.data.arrays import load_bundle
from tasks.data.encoding import class_indices
from tasks.model.model_io import check_input_shape, load_model
from tasks.model.report import html_report, markdown_report, plot_confusion_matrix
from tasks.model.scoring import BATCH_SIZE, predicted_classes, write_classes

CONTRACT = CONTRACTS["evaluate"]


def evaluate(model: str, test: str, output: Path) -> dict:
    """Evaluate and write the metrics, the matrix image and the reports under ``output``."""
    model_uri, test_uri = model, test
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    test = load_bundle(test_uri)
    if len(test) == 0:
        raise StepError(f"{test_uri}: test split is empty")
    model = load_model(model_uri)
    check_input_shape(model, test.x.shape, test_uri)
    loss, _ = model.evaluate(test.x, test.y, batch_size=BATCH_SIZE, verbose=0)
    predicted = predicted_classes(model, test)
    truth = class_indices(test.y)
    codes = list(range(len(test.classes)))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=codes, zero_division=0)
    matrix = confusion_matrix(truth, predicted, labels=codes)
    present = support > 0
    metrics = {
        "model": model_uri,
        "test": test_uri,
        "test_rows": len(test),
        "accuracy": float((predicted == truth).mean()),
        "loss": float(loss),
        "macro_f1": float(f1[present].mean()),
        "classes": list(test.classes),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                             "support": int(support[i])} for i, name in enumerate(test.classes)},
        "confusion_matrix": matrix.tolist(),
    }
    files = {name: CONTRACT.output_path(output, name) for name in ("metrics", "confusion_matrix", "report", "summary")}
    output.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(matrix, test.classes, files["confusion_matrix"],
                          f"accuracy {metrics['accuracy']:.4f} on {len(test)} test images")
    picture = files["confusion_matrix"].name
    for name, text in (("summary", markdown_report(metrics, picture)), ("report", html_report(metrics, picture))):
        with atomic_file(files[name]) as tmp:
            tmp.write_text(text)
    write_json(files["metrics"], metrics)
    write_classes(CONTRACT.output_path(output, "predictions"), predicted)  # register and the report read them
    return {"metrics": str(files["metrics"]), "report": str(files["report"]),
            "confusion_matrix": str(files["confusion_matrix"]), "model": model_uri,
            "accuracy": metrics["accuracy"], "loss": metrics["loss"], "test_rows": len(test)}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, evaluate)


if __name__ == "__main__":
    raise SystemExit(main())
