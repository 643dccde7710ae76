"""Build a fresh Keras classifier from hyperparameters.

``mlp`` is the source thesis' network (Flatten, Dense(units), Dense(classes));
``cnn`` is a small convolutional option for better accuracy on images. Either is
compiled with a loss and accuracy metric that match the label encoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.core.parameters import MODEL_TYPES
from tasks.model.model_io import compile_model, quiet_tensorflow, save_model

CONTRACT = CONTRACTS["build_model"]


def make_network(model_type: str, height: int, width: int, classes: int, units: int,
                 hidden_activation: str, output_activation: str) -> Any:
    """The uncompiled network for ``model_type``."""
    quiet_tensorflow()
    import keras
    from keras import layers

    inputs = keras.Input(shape=(height, width), name="image")
    if model_type == "mlp":
        hidden = layers.Flatten()(inputs)
    elif model_type == "cnn":
        hidden = layers.Reshape((height, width, 1))(inputs)
        for filters in (32, 64):
            hidden = layers.Conv2D(filters, 3, padding="same", activation=hidden_activation)(hidden)
            if min(hidden.shape[1], hidden.shape[2]) >= 4:
                hidden = layers.MaxPooling2D()(hidden)
        hidden = layers.Dropout(0.25)(layers.Flatten()(hidden))
    else:
        raise StepError(f"unknown model type {model_type!r}; expected one of {', '.join(MODEL_TYPES)}")
    hidden = layers.Dense(units, activation=hidden_activation, name="hidden")(hidden)
    outputs = layers.Dense(classes, activation=output_activation, name="classes")(hidden)
    return keras.Model(inputs, outputs, name=f"fashion_{model_type}")


def build_network(model_type: str, image_height: int, image_width: int, classes: int, units: int,
                  hidden_activation: str, output_activation: str, optimizer: str, loss: str,
                  learning_rate: float, random_state: int) -> Any:
    """A compiled, untrained model (what ``build_model`` saves; a tuning trial builds its own this way)."""
    quiet_tensorflow()
    import keras

    keras.utils.set_random_seed(random_state)
    model = make_network(model_type, image_height, image_width, classes, units, hidden_activation,
                         output_activation)
    return compile_model(model, optimizer, loss, learning_rate, output_activation)


def build_model(output: Path, model_type: str, image_height: int, image_width: int, classes: int, units: int,
                hidden_activation: str, output_activation: str, optimizer: str, loss: str,
                learning_rate: float, random_state: int) -> dict:
    """Write ``<output>/model.keras``: a compiled, untrained model (settings checked by the contract)."""
    model = build_network(model_type, image_height, image_width, classes, units, hidden_activation,
                          output_activation, optimizer, loss, learning_rate, random_state)
    target = CONTRACT.output_path(output, "model")
    save_model(model, target)
    return {"model": str(target), "model_type": model_type, "parameters": int(model.count_params()), "parent": None}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, build_model)


if __name__ == "__main__":
    raise SystemExit(main())
