"""Tiny Fashion-MNIST-layout files for step tests (2x2 images unless told otherwise)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tasks.core.layout import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.data.arrays import Bundle, save_bundle
from tests.support.steps import call_step


def write_csv(path: Path, rows: list[list[object]], height: int = 2, width: int = 2,
              header: list[str] | None = None) -> Path:
    """Write rows (label first) under the CSV layout's header; ``None`` becomes an empty cell."""
    header = header or ["label", *pixel_columns(height, width)]
    lines = [",".join(header)]
    lines += [",".join("" if value is None else str(value) for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def balanced_rows(per_class: int = 6, pixels: int = 4) -> list[list[object]]:
    """Clean rows: every category ``per_class`` times, pixels that encode the class."""
    rows = []
    for code, name in enumerate(FASHION_MNIST_CATEGORIES):
        for i in range(per_class):
            rows.append([name, *[(code * 25 + i + p) % 256 for p in range(pixels)]])
    return rows


def result_of(completed) -> dict:
    """The step's JSON result: its last stdout line."""
    return json.loads(completed.stdout.strip().splitlines()[-1])


def build_and_train(folder: Path, data: dict[str, str], *, size: int, units: int, learning_rate: float,
                    epochs: int, batch_size: int) -> tuple[dict, str]:
    """``build_model`` then ``train`` as their CLIs, on ``data``'s train and val bundles: train's result and stderr."""
    built = call_step("build_model", "--output", str(folder / "b"), "--image-height", str(size), "--image-width",
                      str(size), "--units", str(units), "--learning-rate", str(learning_rate))
    assert built.returncode == 0, built.stderr
    done = call_step("train", "--model", result_of(built)["model"], "--train", data["train"], "--validation",
                     data["val"], "--output", str(folder / "t"), "--epochs", str(epochs), "--batch-size",
                     str(batch_size))
    assert done.returncode == 0, done.stderr
    return result_of(done), done.stderr


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
