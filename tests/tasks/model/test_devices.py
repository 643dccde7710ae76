"""Training strategy: several GPUs train together, one or none use the default placement.

No GPU here: two logical CPU devices stand in for two GPUs (MirroredStrategy mirrors
over any devices), in a subprocess because devices are fixed when TensorFlow starts.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

TWO_DEVICES = """
import json, logging
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
from tasks.model.devices import global_batch_size, training_strategy
strategy, devices = training_strategy(logging.getLogger("t"), ["/physical_device:CPU:0", "/physical_device:CPU:1"])
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
x, y = np.random.rand(32, 4).astype("float32"), np.random.randint(0, 2, 32)
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size(4, strategy))
history = model.fit(data, epochs=1, verbose=0)
print(json.dumps({"kind": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync, "devices": devices,
                  "batch": global_batch_size(4, strategy), "loss": len(history.history["loss"])}))
"""


@pytest.mark.integration  # a fresh interpreter: devices are fixed when TensorFlow starts
def test_two_devices_train_with_mirrored_strategy():
    done = subprocess.run([sys.executable, "-c", TWO_DEVICES], cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"kind": "MirroredStrategy", "replicas": 2, "devices": ["/CPU:0", "/CPU:1"], "batch": 8,
                      "loss": 1}


def test_no_gpu_means_the_default_strategy_and_says_so(caplog):
    from tasks.model.devices import global_batch_size, training_strategy

    with caplog.at_level(logging.INFO):
        strategy, devices = training_strategy(logging.getLogger("tasks.steps.train"), gpus=[])

    assert devices == ["CPU"]
    assert type(strategy).__name__ != "MirroredStrategy"
    assert global_batch_size(64, strategy) == 64
    assert "training on CPU (default strategy)" in caplog.text


def test_one_gpu_uses_the_default_strategy_on_that_gpu(caplog):
    from tasks.model.devices import training_strategy

    with caplog.at_level(logging.INFO):
        strategy, devices = training_strategy(logging.getLogger("tasks.steps.train"), gpus=["/physical_device:GPU:0"])

    assert devices == ["/physical_device:GPU:0"]
    assert strategy.num_replicas_in_sync == 1


TRAIN_ON_TWO_DEVICES = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import tasks.model.devices as devices
devices.visible_gpus = lambda: ["/physical_device:CPU:0", "/physical_device:CPU:1"]  # two stand-in GPUs
from tasks.steps.train import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.integration  # a fresh interpreter: devices are fixed when TensorFlow starts
def test_the_train_step_mirrors_the_model_over_every_device_it_sees(tmp_path):
    from tests.support.steps import run_step
    from tests.tasks.helpers import make_bundles, result_of

    data = make_bundles(tmp_path)
    built = run_step("build_model", "--output", str(tmp_path / "b"), "--image-height", "4", "--image-width", "4",
                     "--units", "16")
    assert built.returncode == 0, built.stderr
    done = subprocess.run([sys.executable, "-c", TRAIN_ON_TWO_DEVICES, "--model", result_of(built)["model"],
                           "--train", data["train"], "--validation", data["val"], "--output", str(tmp_path / "t"),
                           "--epochs", "2", "--batch-size", "8"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "training on 2 GPUs with MirroredStrategy: /CPU:0, /CPU:1" in done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["epochs_run"] == 2 and result["device"] == "/CPU:0"
    assert (tmp_path / "t" / "model.keras").is_file()
