"""Model quality: test accuracy of the default MLP and of the CNN through the step CLIs.

The steps run as the DAG would run them (fetch embedded -> validate -> prepare ->
features -> split -> build_model -> train -> evaluate, command lines rendered from
the DAG's step specs by :mod:`benchmarks.plain_steps`) with the DAG's default
hyperparameters. The same-run baseline is scikit-learn's LogisticRegression fitted
on the same train split and scored on the same test split: a model is only worth
its training if it beats that. Real Fashion-MNIST runs when ``FASHION_MNIST_URI``
points at a copy (Kaggle CSV or IDX files); without one (no internet here) it is
skipped, and the published anchors are printed instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.plain_steps import DATA_STEPS, MODEL_STEPS, run_pipeline
from benchmarks.record import Figure

TARGETS = {"mlp": 0.95, "cnn": 0.97}
FASHION_TARGETS = {"mlp": 0.87, "cnn": 0.91}
ANCHORS = ("Fashion-MNIST anchors: the thesis reports 0.89 test accuracy for its MLP; MLPs reach ~0.87-0.89, "
           "small CNNs > 0.91")


def logistic_baseline(split: dict) -> float:
    """Test accuracy of a logistic regression on the same train/test bundles."""
    from sklearn.linear_model import LogisticRegression

    from tasks.data.arrays import load_bundle
    from tasks.data.encoding import class_indices

    train, test = load_bundle(split["train"]), load_bundle(split["test"])
    model = LogisticRegression(max_iter=1000)
    model.fit(train.x.reshape(len(train), -1), class_indices(train.y))
    return float(model.score(test.x.reshape(len(test), -1), class_indices(test.y)))


def accuracy(model_type: str, conf: dict, targets: dict, dataset: str) -> Figure:
    """One pipeline run through evaluate, against the logistic baseline on its split."""
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-quality-{model_type}-") as tmp:
            run = run_pipeline(Path(tmp), {**conf, "model_type": model_type}, (*DATA_STEPS, *MODEL_STEPS))
            baseline = logistic_baseline(run["results"]["split"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    evaluated, trained = run["results"]["evaluate"], run["results"]["train"]
    return Figure("quality", f"test accuracy {model_type.upper()}, {dataset}", evaluated["accuracy"], "accuracy",
                  baseline, "logistic regression, same split", targets[model_type], judged_on="value",
                  higher_is_better=True, notes={"conf": conf, "test_rows": evaluated["test_rows"],
                                                "epochs_run": trained["epochs_run"], "device": trained["device"]})


def run(quick: bool = False) -> list[Figure]:
    """MLP and CNN on the embedded digits; on Fashion-MNIST too when a copy is at hand."""
    conf = {"epochs": 3} if quick else {}
    figures = [accuracy(kind, conf, TARGETS, "embedded digits") for kind in ("mlp", "cnn")]
    fashion = os.environ.get("FASHION_MNIST_URI")
    if fashion and not quick:
        conf = {"dataset_uri": fashion, "image_height": 28, "image_width": 28}
        figures += [accuracy(kind, conf, FASHION_TARGETS, "Fashion-MNIST") for kind in ("mlp", "cnn")]
    else:
        print("Fashion-MNIST: skipped (set FASHION_MNIST_URI to a local copy; there is no internet here). " + ANCHORS)
    return figures
