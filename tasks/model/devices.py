"""Which devices train the model: every visible GPU, or the default device.

A pod that asks for ``gpu_count`` GPUs sees exactly those GPUs. With more than one,
training must be distributed or the others idle: ``MirroredStrategy`` keeps a copy of
the model on each GPU and splits every batch between them. With one GPU or none, the
default strategy is TensorFlow's usual placement (the GPU if there is one).

The model must be built or loaded inside ``strategy.scope()`` so its variables are
mirrored; ``global_batch_size`` turns the per-GPU batch size into the batch the
``tf.data`` pipeline should produce (each replica then gets ``batch_size`` rows).
"""

from __future__ import annotations

import logging
from typing import Any

from tasks.model.model_io import quiet_tensorflow


def visible_gpus() -> list[str]:
    """Names of the GPUs TensorFlow sees (``/physical_device:GPU:0``, ...)."""
    quiet_tensorflow()
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def training_strategy(log: logging.Logger, gpus: list[str] | None = None) -> tuple[Any, list[str]]:
    """``(strategy, device_names)``: ``MirroredStrategy`` over the GPUs when there are several, else the default.

    ``gpus`` defaults to the visible GPUs; the choice and its devices are logged, so a
    task log shows whether a 2-GPU run really trained on two.
    """
    quiet_tensorflow()
    import tensorflow as tf

    gpus = visible_gpus() if gpus is None else gpus
    if len(gpus) > 1:
        logical = [name.replace("/physical_device:", "/") for name in gpus]
        strategy = tf.distribute.MirroredStrategy(devices=logical)
        log.info("training on %d GPUs with MirroredStrategy: %s", len(gpus), ", ".join(logical))
        return strategy, logical
    devices = gpus or ["CPU"]
    log.info("training on %s (default strategy)", devices[0])
    return tf.distribute.get_strategy(), devices


def global_batch_size(batch_size: int, strategy: Any) -> int:
    """The batch the input pipeline produces so that each replica gets ``batch_size`` rows."""
    return batch_size * int(strategy.num_replicas_in_sync)
