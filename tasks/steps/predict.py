"""Predict categories for rows of a Fashion-MNIST-layout CSV with a served or registered model.

The serving check: ``python -m tasks predict --model-uri models:/fashion_mnist@champion
--tracking-uri sqlite:///.state/mlflow/mlflow.db --input rows.csv --height 8 --width 8``
loads the champion and prints one JSON line with a prediction per row (and the
accuracy when the rows carry known labels). A serving folder path works too.

With ``--endpoint http://127.0.0.1:8501`` (``make serve``, or the cluster's TF Serving) the rows
go to the model server instead, as TensorFlow Serving's REST ``{"instances": ...}`` body, and the
result names the version that answered (``model_version``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.core.layout import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.data.raw_csv import read_raw_csv
from tasks.model.model_io import check_input_shape, load_model
from tasks.model.registry import download_model

CONTRACT = CONTRACTS["predict"]


def predict(model_uri: str, input: str, tracking_uri: str, image_height: int, image_width: int, limit: int,
            model_name: str = "fashion_mnist", endpoint: str = "") -> dict:
    """Predict the first ``limit`` complete rows of ``input_uri``, in process or on ``endpoint``."""
    from tasks.data.cleaning import normalise_labels, numeric_pixels  # pandas: not paid by --help

    input_uri, height, width = input, image_height, image_width
    if bool(endpoint) == bool(model_uri):
        raise StepError("give either --model-uri (load the model here) or --endpoint (ask a model server)")
    frame = read_raw_csv(input_uri, height, width).head(limit).copy()
    values = numeric_pixels(input_uri, frame, pixel_columns(height, width))
    complete = ~np.isnan(values).any(axis=1)
    if not complete.any():
        raise StepError(f"{input_uri}: no complete rows to predict")
    x = (values[complete] / np.float32(255.0)).reshape(-1, height, width)
    served = {}
    if endpoint:
        from tasks.serve.client import predict_remote

        scores, version = predict_remote(endpoint, model_name, x)
        served = {"endpoint": endpoint, "model_name": model_name, "model_version": version}
    else:
        scores = _predict_in_process(model_uri, tracking_uri, x, input_uri)
    codes = scores.argmax(axis=1)
    truth = normalise_labels(frame["label"])[complete].tolist()
    rows = [{"predicted": FASHION_MNIST_CATEGORIES[c], "confidence": round(float(scores[i].max()), 4),
             "label": truth[i]} for i, c in enumerate(codes)]
    known = [(r["predicted"], r["label"]) for r in rows if r["label"] is not None]
    accuracy = float(np.mean([p == t for p, t in known])) if known else None
    return {"model_uri": model_uri, **served, "rows": len(rows), "accuracy": accuracy, "predictions": rows}


def _predict_in_process(model_uri: str, tracking_uri: str, x: np.ndarray, where: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as scratch:
        model = load_model(str(download_model(model_uri, tracking_uri, Path(scratch))))
    check_input_shape(model, x.shape, where)
    return np.asarray(model.predict(x, verbose=0))


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, predict)


if __name__ == "__main__":
    raise SystemExit(main())
