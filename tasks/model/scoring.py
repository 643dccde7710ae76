"""Score a model on a bundle: the one place predictions become class codes and accuracy.

``evaluate`` scores the challenger with it and ``register`` scores the champion with
it, so the two numbers the gate compares are computed the same way. ``evaluate`` keeps
the challenger's class codes (``predictions.npz``) and ``register`` reads them back
(:func:`evaluated_classes`) instead of loading the model a second time: a run without a
champion registers without importing TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tasks.core.common import StepError, atomic_file, require_file, strip_file_scheme
from tasks.data.arrays import Bundle
from tasks.data.encoding import class_indices

BATCH_SIZE = 256


def predicted_classes(model: Any, bundle: Bundle, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The class code the model ranks first for each image of ``bundle``."""
    return np.asarray(model.predict(bundle.x, batch_size=batch_size, verbose=0)).argmax(axis=1)


def accuracy(model: Any, bundle: Bundle, batch_size: int = BATCH_SIZE) -> float:
    """Share of ``bundle``'s images whose first-ranked class is the true one."""
    return float((predicted_classes(model, bundle, batch_size) == class_indices(bundle.y)).mean())


def write_classes(path: Path, predicted: np.ndarray) -> None:
    """Keep the class codes of a bundle's rows, in order (``evaluate``'s ``predictions.npz``)."""
    with atomic_file(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, predicted=np.asarray(predicted, dtype="int16"))


def read_classes(path: Path) -> np.ndarray:
    """The class codes :func:`write_classes` kept (``register`` and the run report's picture grid read them)."""
    with np.load(require_file(str(path), "predictions")) as saved:
        return saved["predicted"].astype(np.int64)


def evaluated_classes(metrics: dict, predictions: Path, model_uri: str, test_uri: str, bundle: Bundle) -> np.ndarray:
    """The class codes ``evaluate`` predicted for ``bundle``, refused unless they are this model's on this split.

    Metrics of another model, or of another test split, would put another model's accuracy in
    front of the gate: a one-line error names what does not match.
    """
    for key, given, hint in (("model", model_uri, "evaluate this model"), ("test", test_uri, "evaluate on this split")):
        evaluated, wanted = (Path(strip_file_scheme(str(uri))).resolve() for uri in (metrics.get(key, ""), given))
        if evaluated != wanted:
            raise StepError(f"{predictions.parent}: evaluated {evaluated}, not {wanted}; {hint} first")
    predicted = read_classes(predictions)
    if len(predicted) != len(bundle) or metrics.get("test_rows") != len(bundle):
        raise StepError(f"{predictions}: predictions for {len(predicted)} rows, the test split has {len(bundle)}; "
                        "evaluate on this split first")
    return predicted
