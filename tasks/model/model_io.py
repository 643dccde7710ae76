"""Load, check and compile Keras models; shared by the model steps.

TensorFlow is imported inside the functions: importing it costs seconds, and the
data steps never need it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from tasks.core.common import StepError, atomic_file, require_file, strip_file_scheme
from tasks.core.parameters import OPTIMIZERS

# Batches per compiled call in fit/evaluate/predict. Our models are small, so at batch 32 on CPU a step was
# mostly Python and dispatch overhead: 32 per call measured ~2.5x the samples/s of 1 per call (MLP, 60,000
# rows, 2 cores), same batches, same order, same updates. It is saved with the model (its compile config).
STEPS_PER_EXECUTION = 32

# Keras imports these at import time whenever they are installed (its scikit-learn estimator wrappers, an image
# gallery helper), each under try/except ImportError. No model step uses Keras' side of them.
KERAS_OPTIONAL_IMPORTS = ("sklearn", "matplotlib.pyplot")


def quiet_tensorflow() -> None:
    """Import TensorFlow, and Keras with it, once per process: quietly, and without Keras' optional integrations.

    Call it before any ``import tensorflow`` or ``import keras``. TensorFlow's C++ banner stays out of step logs
    unless the user asked for it. Keras' imports of scikit-learn and matplotlib.pyplot were 1.65 s of the
    6.0 s import on the 2-core machine, in every model step and model server: while Keras loads, both names
    are marked not importable (``None`` in ``sys.modules``, Python's own marker), so Keras skips them;
    afterwards they import as usual (``evaluate`` uses both).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    blocked = [name for name in KERAS_OPTIONAL_IMPORTS if name not in sys.modules]
    sys.modules.update(dict.fromkeys(blocked))
    try:
        import keras  # noqa: F401  (imports TensorFlow, its backend)
        import tensorflow  # noqa: F401
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def load_model(uri: str) -> Any:
    """Load a ``.keras`` model from a path or ``file://`` URI."""
    quiet_tensorflow()
    import keras

    path = Path(strip_file_scheme(uri))
    if path.is_dir() and (path / "model.keras").is_file():
        path = path / "model.keras"
    require_file(str(path), "model")
    try:
        return keras.models.load_model(path, compile=True)
    except (ValueError, OSError) as err:
        raise StepError(f"{path}: not a loadable Keras model ({str(err).splitlines()[0]})") from err


def save_model(model: Any, path: Path) -> None:
    """Save a model atomically in the native ``.keras`` format."""
    with atomic_file(path) as tmp:
        keras_tmp = tmp.with_suffix(".keras")
        model.save(keras_tmp)
        os.replace(keras_tmp, tmp)


def image_shape(model: Any) -> tuple[int, ...]:
    """The (height, width) a model takes, without the batch axis."""
    return tuple(int(d) for d in model.input_shape[1:])


def check_input_shape(model: Any, x_shape: tuple[int, ...], where: str) -> None:
    """Fail with one line if the data's image shape does not match the model's input."""
    expected = image_shape(model)
    if tuple(x_shape[1:]) != expected:
        raise StepError(f"{where}: images are {tuple(x_shape[1:])}, the model expects {expected}")


def compile_model(model: Any, optimizer: str, loss: str, learning_rate: float, output_activation: str) -> Any:
    """Compile with an optimizer, loss and accuracy metric that fit the label encoding."""
    quiet_tensorflow()
    import keras

    if optimizer not in OPTIMIZERS:
        raise StepError(f"unsupported optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    losses = {
        "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    }
    if loss not in losses:
        raise StepError(f"unsupported loss {loss!r}; expected one of {', '.join(losses)}")
    from_logits = output_activation == "linear"
    accuracy = (keras.metrics.SparseCategoricalAccuracy if loss.startswith("sparse")
                else keras.metrics.CategoricalAccuracy)(name="accuracy")
    model.compile(
        optimizer=keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}}),
        loss=losses[loss](from_logits=from_logits),
        metrics=[accuracy],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model
