"""Fixtures for step tests: tiny separable image bundles and one small trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tasks.data.arrays import Bundle, save_bundle
from tests.support.steps import call_step
from tests.tasks.helpers import build_and_train


def make_bundles(folder: Path, height: int = 4, width: int = 4, per_class: int = 12) -> dict[str, str]:
    """Separable synthetic images: class c lights up pixel c; split into train/val/test bundles."""
    rng = np.random.default_rng(0)
    paths = {}
    for name, count in (("train", per_class), ("val", 3), ("test", 4)):
        codes = np.repeat(np.arange(10), count)
        x = rng.uniform(0, 0.2, size=(len(codes), height * width)).astype("float32")
        x[np.arange(len(codes)), codes % (height * width)] = 1.0
        path = folder / f"{name}.npz"
        save_bundle(path, Bundle(x.reshape(-1, height, width), codes, FASHION_MNIST_CATEGORIES, "integer"))
        paths[name] = str(path)
    return paths


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    data = make_bundles(folder)
    done = build_and_train(folder, data, size=4, units=32, learning_rate=0.01, epochs=40, batch_size=16)
    return folder, data, {k: v for k, v in done.items() if k != "stderr"}, done["stderr"]


@pytest.fixture(scope="module")
def store(trained, tmp_path_factory):
    """A fresh tracking store with the trained model evaluated, and helpers to drive the steps."""
    folder, data, train_result, _ = trained
    root = tmp_path_factory.mktemp("registry")
    evaluated = call_step("evaluate", "--model", train_result["model"], "--test", data["test"], "--output",
                         str(root / "evaluate"))
    assert evaluated.returncode == 0, evaluated.stderr
    uri = f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"
    return {"uri": uri, "root": root, "model": train_result["model"], "history": train_result["history"],
            "metrics": str(root / "evaluate" / "metrics.json"), "test": data["test"], "serving": root / "serving"}
