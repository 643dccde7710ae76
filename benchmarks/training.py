"""Training throughput: the ``train`` step's samples/s against a bare Keras ``fit`` of the same model.

Both sides get the same compiled model (from ``build_model``, so the same compile settings,
``steps_per_execution`` included), the same arrays, the same batch size and epochs; each
runs in its own fresh process. The step adds what
it needs in production: a ``tf.data`` pipeline, early stopping, one log line per
epoch, a (small, 1%) validation pass per epoch and saving the best model; the bare
fit has numpy float32 arrays already scaled to [0, 1] (``load_bundle``) and no
callbacks, while the step keeps the uint8 pixels and scales each batch in ``tf.data``.
Random 28x28 images: only speed is measured. The two alternate, five rounds (a fit's
samples/s on this 2-core machine varies by a third from run to run), and the figure is
the median of each side.

    python -m benchmarks.training --bare-fit MODEL TRAIN_NPZ EPOCHS BATCH   (the baseline's process)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.record import ROOT, Figure, interleaved

TARGET_RATIO = 0.95


def bare_fit(model_uri: str, train_uri: str, epochs: int, batch_size: int) -> dict:
    """Keras ``fit`` on numpy arrays, no callbacks; samples per second over the whole fit."""
    import keras
    import tensorflow as tf

    from tasks.data.arrays import load_bundle

    keras.utils.set_random_seed(42)
    data = load_bundle(train_uri)
    model = keras.models.load_model(model_uri)
    started = time.perf_counter()
    model.fit(data.x, data.y, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    device = ([d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU"])[0]
    return {"samples_per_second": epochs * len(data) / seconds, "seconds": seconds, "device": device}


def _step(args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_bundles(folder: Path, rows: int, val_rows: int) -> None:
    """Random 28x28 uint8 images with integer labels, as ``split`` writes them (the step scales each batch)."""
    from tasks.core.layout import FASHION_MNIST_CATEGORIES
    from tasks.data.arrays import Bundle, save_bundle

    rng = np.random.default_rng(0)
    for name, n in (("train", rows), ("val", val_rows)):
        bundle = Bundle(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype("int64"),
                        FASHION_MNIST_CATEGORIES, "integer")
        save_bundle(folder / f"{name}.npz", bundle)


def run(quick: bool = False) -> list[Figure]:
    """Samples/s of the train step against the bare fit, on CPU unless a GPU is visible."""
    rows, epochs, batch = (2_000, 1, 32) if quick else (60_000, 3, 32)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        write_bundles(tmp, rows, max(rows // 100, 20))
        model = _step(["-m", "tasks", "build_model", "--output", str(tmp / "build"), "--image-height", "28",
                       "--image-width", "28"])["model"]
        steps: list[dict] = []
        bares: list[dict] = []

        def train_step() -> float:
            steps.append(_step(["-m", "tasks", "train", "--model", model, "--train", str(tmp / "train.npz"),
                                "--validation", str(tmp / "val.npz"), "--output", str(tmp / f"train{len(steps)}"),
                                "--epochs", str(epochs), "--batch-size", str(batch),
                                "--early-stopping-patience", str(epochs + 1)]))
            return steps[-1]["samples_per_second"]

        def bare_step() -> float:
            bares.append(_step(["-m", "benchmarks.training", "--bare-fit", model, str(tmp / "train.npz"),
                                str(epochs), str(batch)]))
            return bares[-1]["samples_per_second"]

        pair = interleaved(train_step, bare_step, repeat=3 if quick else 5)
    step, bare = steps[-1], bares[-1]
    notes = {**pair.notes(), "rows": rows, "epochs": epochs, "batch_size": batch, "device": step["device"],
             "bare_device": bare["device"], "step_train_seconds": step["train_seconds"],
             "bare_fit_seconds": round(bare["seconds"], 3), "model": "default MLP (Flatten-Dense128-Dense10)"}
    return [Figure("training", f"train step throughput ({step['device']})", pair.value, "samples/s",
                   pair.baseline, "bare Keras fit, numpy, no callbacks", TARGET_RATIO,
                   higher_is_better=True, notes=notes, load=pair.load)]


if __name__ == "__main__" and sys.argv[1:2] == ["--bare-fit"]:
    _, _, model_arg, train_arg, epochs_arg, batch_arg = sys.argv
    print(json.dumps(bare_fit(model_arg, train_arg, int(epochs_arg), int(batch_arg))))
