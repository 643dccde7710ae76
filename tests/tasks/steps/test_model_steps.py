"""Behaviour of the model steps (build_model, load_pretrained, train, evaluate, deploy) on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tasks.core.layout import FASHION_MNIST_CATEGORIES
from tests.support.steps import call_step
from tests.tasks.helpers import make_bundles, result_of


def test_build_model_compiles_the_requested_architecture(tmp_path):
    for model_type in ("mlp", "cnn"):
        done = call_step("build_model", "--output", str(tmp_path / model_type), "--model-type", model_type,
                        "--image-height", "8", "--image-width", "8", "--units", "16")
        assert done.returncode == 0, done.stderr
        import keras

        model = keras.models.load_model(result_of(done)["model"])
        assert model.input_shape == (None, 8, 8) and model.output_shape == (None, 10)
        assert model.loss.name == "sparse_categorical_crossentropy"


def test_train_logs_each_epoch_and_learns(trained):
    _, _, result, log = trained
    assert result["epochs_run"] >= 1
    assert log.count("[train] epoch ") == result["epochs_run"]
    history = json.loads(Path(result["history"]).read_text())
    assert history["loss"][-1] < history["loss"][0]


def test_evaluate_writes_metrics_matrix_and_report(trained, tmp_path):
    _, data, result, _ = trained
    done = call_step("evaluate", "--model", result["model"], "--test", data["test"], "--output", str(tmp_path / "e"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 40
    assert metrics["accuracy"] == pytest.approx(np.trace(matrix) / 40)
    assert metrics["accuracy"] >= 0.9
    assert set(metrics["per_class"]) == set(FASHION_MNIST_CATEGORIES)
    assert (tmp_path / "e" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "accuracy" in (tmp_path / "e" / "report.html").read_text()


def test_train_rejects_a_model_whose_input_shape_does_not_match(trained, tmp_path):
    _, _, result, _ = trained
    other = make_bundles(tmp_path, height=3, width=3)
    done = call_step("train", "--model", result["model"], "--train", other["train"], "--validation", other["val"],
                    "--output", str(tmp_path / "t"), "--epochs", "1")
    assert done.returncode == 2
    assert "the model expects (4, 4)" in done.stderr and not (tmp_path / "t").exists()


def test_load_pretrained_adapts_input_size_and_keeps_classes(trained, tmp_path):
    _, _, result, _ = trained
    done = call_step("load_pretrained", "--base-model-uri", f"file://{result['model']}", "--output",
                     str(tmp_path / "l"), "--image-height", "8", "--image-width", "8")
    assert done.returncode == 0, done.stderr
    adapted = result_of(done)
    assert adapted["parent"].endswith("model.keras")
    assert adapted["adaptations"] == ["input resized from 8x8 to 4x4"]
    import keras

    assert keras.models.load_model(adapted["model"]).input_shape == (None, 8, 8)


def test_load_pretrained_without_a_uri_says_how_to_proceed(tmp_path):
    done = call_step("load_pretrained", "--base-model-uri", "", "--output", str(tmp_path / "l"), "--image-height", "8",
                    "--image-width", "8")
    assert done.returncode == 2 and "train from scratch" in done.stderr


@pytest.mark.parametrize("uri", ["/etc/passwd", "file:///proc/self/environ", "http://169.254.169.254/latest/model",
                                 "embedded://digits", "models:/../../etc"])
def test_load_pretrained_refuses_a_base_model_outside_the_allowlist_before_reading(tmp_path, uri):
    done = call_step("load_pretrained", "--base-model-uri", uri, "--output", str(tmp_path / "l"),
                    "--image-height", "8", "--image-width", "8")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and repr(uri)[:20] in done.stderr
    assert not (tmp_path / "l").exists()


def _epochs(dataset, count: int) -> list[list[int]]:
    return [[int(v) for _, labels in dataset for v in labels.numpy()] for _ in range(count)]


def test_each_training_epoch_sees_every_row_once_in_a_new_order_that_the_seed_repeats():
    from tasks.data.arrays import Bundle
    from tasks.steps.train import make_dataset

    rows = 103  # not a multiple of the batch size: the last batch is partial
    pixels = np.arange(rows * 4, dtype=np.int64).reshape(rows, 2, 2) % 256
    bundle = Bundle(pixels.astype(np.uint8), np.arange(rows), FASHION_MNIST_CATEGORIES, "integer")

    epochs = _epochs(make_dataset(bundle, 10, shuffle_seed=7), 3)
    assert all(sorted(epoch) == list(range(rows)) for epoch in epochs)
    assert epochs[0] != epochs[1] != epochs[2] and epochs[0] != list(range(rows))
    assert _epochs(make_dataset(bundle, 10, shuffle_seed=7), 3) == epochs
    assert _epochs(make_dataset(bundle, 10, shuffle_seed=8), 1)[0] != epochs[0]
    assert _epochs(make_dataset(bundle, 10, shuffle_seed=None), 2) == [list(range(rows))] * 2

    images, labels = next(iter(make_dataset(bundle, 10, shuffle_seed=7)))
    assert images.dtype.name == "float32" and images.shape == (10, 2, 2)
    np.testing.assert_allclose(images.numpy(), pixels[labels.numpy()].astype(np.float32) / 255.0)
