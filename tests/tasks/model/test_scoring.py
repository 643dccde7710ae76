"""The challenger's class codes travel from ``evaluate`` to ``register`` only if they are that model's on those rows."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.core.common import StepError
from tasks.data.arrays import Bundle
from tasks.model.scoring import evaluated_classes, read_classes, write_classes

CLASSES = ("a", "b", "c")


def bundle(rows: int) -> Bundle:
    return Bundle(np.zeros((rows, 2, 2), np.float32), np.arange(rows) % 3, CLASSES, "integer")


@pytest.fixture
def evaluated(tmp_path):
    """What evaluate left for a model of 5 test rows: its metrics and the codes it predicted."""
    model = tmp_path / "train" / "model.keras"
    model.parent.mkdir()
    model.write_bytes(b"model")
    predictions = tmp_path / "evaluate" / "predictions.npz"
    write_classes(predictions, np.array([2, 0, 1, 1, 0]))
    return {"model": str(model), "test": str(tmp_path / "split" / "test.npz"), "test_rows": 5}, predictions, model


def test_the_codes_evaluate_kept_come_back_for_the_model_it_scored(evaluated):
    metrics, predictions, model = evaluated

    codes = evaluated_classes(metrics, predictions, f"file://{model}", metrics["test"], bundle(5))

    assert codes.tolist() == [2, 0, 1, 1, 0] and read_classes(predictions).dtype == np.int64


def test_metrics_of_another_model_are_refused_in_one_line(evaluated, tmp_path):
    metrics, predictions, _ = evaluated
    other = tmp_path / "other.keras"

    with pytest.raises(StepError, match=r"evaluated .*model\.keras, not .*other\.keras; evaluate this model first"):
        evaluated_classes(metrics, predictions, str(other), metrics["test"], bundle(5))


def test_metrics_of_another_test_split_are_refused_in_one_line(evaluated, tmp_path):
    metrics, predictions, model = evaluated

    other = tmp_path / "other" / "test.npz"

    with pytest.raises(StepError, match=r"evaluated .*split/test\.npz, not .*other/test\.npz; evaluate on this split"):
        evaluated_classes(metrics, predictions, str(model), str(other), bundle(5))


@pytest.mark.parametrize("rows, recorded", [(6, 5), (5, 6)])
def test_predictions_of_another_length_are_refused(evaluated, rows, recorded):
    metrics, predictions, model = evaluated

    with pytest.raises(StepError, match=f"predictions for 5 rows, the test split has {rows}"):
        evaluated_classes({**metrics, "test_rows": recorded}, predictions, str(model), metrics["test"], bundle(rows))


def test_missing_predictions_name_the_file(evaluated):
    metrics, predictions, model = evaluated
    predictions.unlink()

    with pytest.raises(StepError, match="predictions.npz: predictions file not found"):
        evaluated_classes(metrics, predictions, str(model), metrics["test"], bundle(5))
