"""Fixtures for step tests: one small trained model (on helpers.make_bundles' images) and its tracking store."""

from __future__ import annotations

import pytest

from tests.support.steps import call_step
from tests.tasks.helpers import build_and_train, make_bundles


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    data = make_bundles(folder)
    result, stderr = build_and_train(folder, data, size=4, units=32, learning_rate=0.01, epochs=40, batch_size=16)
    return folder, data, result, stderr


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
