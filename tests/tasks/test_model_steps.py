"""Behaviour of the model steps (build_model, load_pretrained, train, evaluate, deploy) on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tasks.arrays import Bundle, save_bundle
from tasks.categories import FASHION_MNIST_CATEGORIES
from tests.conftest import run_step
from tests.tasks.helpers import result_of


def _bundles(folder: Path, height: int = 4, width: int = 4, per_class: int = 12) -> dict[str, str]:
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


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    data = _bundles(folder)
    built = run_step("build_model", "--output", str(folder / "b"), "--height", "4", "--width", "4", "--units", "32",
                     "--learning-rate", "0.01")
    assert built.returncode == 0, built.stderr
    done = run_step("train", "--model", result_of(built)["model"], "--train", data["train"], "--validation",
                    data["val"], "--output", str(folder / "t"), "--epochs", "40", "--batch-size", "16")
    assert done.returncode == 0, done.stderr
    return folder, data, result_of(done), done.stderr


def test_build_model_compiles_the_requested_architecture(tmp_path):
    for model_type in ("mlp", "cnn"):
        done = run_step("build_model", "--output", str(tmp_path / model_type), "--model-type", model_type,
                        "--height", "8", "--width", "8", "--units", "16")
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
    done = run_step("evaluate", "--model", result["model"], "--test", data["test"], "--output", str(tmp_path / "e"))
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
    other = _bundles(tmp_path, height=3, width=3)
    done = run_step("train", "--model", result["model"], "--train", other["train"], "--validation", other["val"],
                    "--output", str(tmp_path / "t"), "--epochs", "1")
    assert done.returncode == 2
    assert "the model expects (4, 4)" in done.stderr and not (tmp_path / "t").exists()


def test_load_pretrained_adapts_input_size_and_keeps_classes(trained, tmp_path):
    _, _, result, _ = trained
    done = run_step("load_pretrained", "--model-uri", f"file://{result['model']}", "--output", str(tmp_path / "l"),
                    "--height", "8", "--width", "8")
    assert done.returncode == 0, done.stderr
    adapted = result_of(done)
    assert adapted["parent"].endswith("model.keras")
    assert adapted["adaptations"] == ["input resized from 8x8 to 4x4"]
    import keras

    assert keras.models.load_model(adapted["model"]).input_shape == (None, 8, 8)


def test_load_pretrained_without_a_uri_says_how_to_proceed(tmp_path):
    done = run_step("load_pretrained", "--model-uri", "", "--output", str(tmp_path / "l"), "--height", "8",
                    "--width", "8")
    assert done.returncode == 2 and "train from scratch" in done.stderr


def test_deploy_publishes_numbered_versions_and_keeps_earlier_ones(trained, tmp_path):
    folder, data, result, _ = trained
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"accuracy": 0.97}))
    served = []
    for _ in range(2):
        done = run_step("deploy", "--model", result["model"], "--metrics", str(metrics), "--serving-root",
                        str(tmp_path / "serving"), "--model-name", "demo")
        assert done.returncode == 0, done.stderr
        served.append(result_of(done))
    assert [s["version"] for s in served] == [1, 2]
    for version in (1, 2):
        assert (tmp_path / "serving" / "demo" / str(version) / "saved_model.pb").is_file()
    assert sorted(p.name for p in (tmp_path / "serving" / "demo").iterdir()) == ["1", "2"]
