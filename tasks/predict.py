"""Predict categories for rows of a Fashion-MNIST-layout CSV with a served or registered model.

The serving check: ``python -m tasks predict --model-uri models:/fashion_mnist@champion
--tracking-uri sqlite:///.state/mlflow/mlflow.db --input rows.csv --height 8 --width 8``
loads the champion and prints one JSON line with a prediction per row (and the
accuracy when the rows carry known labels). A serving folder path works too.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from tasks.categories import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.common import StepError, run_cli
from tasks.model_io import check_input_shape, load_model
from tasks.prepare import normalise_labels, numeric_pixels
from tasks.raw_csv import read_raw_csv
from tasks.registry import download_model


def predict(model_uri: str, tracking_uri: str, input_uri: str, height: int, width: int, limit: int) -> dict:
    """Predict the first ``limit`` complete rows of ``input_uri``."""
    frame = read_raw_csv(input_uri, height, width).head(limit).copy()
    values = numeric_pixels(input_uri, frame, pixel_columns(height, width))
    complete = ~np.isnan(values).any(axis=1)
    if not complete.any():
        raise StepError(f"{input_uri}: no complete rows to predict")
    x = (values[complete] / np.float32(255.0)).reshape(-1, height, width)
    with tempfile.TemporaryDirectory() as scratch:
        model = load_model(str(download_model(model_uri, tracking_uri, Path(scratch))))
    check_input_shape(model, x.shape, input_uri)
    scores = np.asarray(model.predict(x, verbose=0))
    codes = scores.argmax(axis=1)
    truth = normalise_labels(frame["label"])[complete].tolist()
    rows = [{"predicted": FASHION_MNIST_CATEGORIES[c], "confidence": round(float(scores[i].max()), 4),
             "label": truth[i]} for i, c in enumerate(codes)]
    known = [(r["predicted"], r["label"]) for r in rows if r["label"] is not None]
    accuracy = float(np.mean([p == t for p, t in known])) if known else None
    return {"model_uri": model_uri, "rows": len(rows), "accuracy": accuracy, "predictions": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks predict", description=__doc__)
    parser.add_argument("--model-uri", required=True, help="models:/NAME@champion, models:/NAME/N, or a path")
    parser.add_argument("--tracking-uri", default="", help="MLflow URI for models:/ URIs")
    parser.add_argument("--input", required=True, help="CSV in the Fashion-MNIST layout")
    parser.add_argument("--height", type=int, default=8)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--limit", type=int, default=20, help="rows to predict")
    a = parser.parse_args(argv)
    return run_cli("predict", lambda: predict(a.model_uri, a.tracking_uri, a.input, a.height, a.width, a.limit))


if __name__ == "__main__":
    raise SystemExit(main())
