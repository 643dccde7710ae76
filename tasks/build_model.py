"""Build a fresh Keras classifier from hyperparameters.

``mlp`` is the source thesis' network (Flatten, Dense(units), Dense(classes));
``cnn`` is a small convolutional option for better accuracy on images. Either is
compiled with a loss and accuracy metric that match the label encoding.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tasks.common import StepError, run_cli
from tasks.model_io import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, compile_model, quiet_tensorflow, save_model

MODEL_TYPES = ("mlp", "cnn")


def make_network(model_type: str, height: int, width: int, classes: int, units: int,
                 hidden_activation: str, output_activation: str) -> Any:
    """The uncompiled network for ``model_type``."""
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


def build_model(output: Path, model_type: str, height: int, width: int, classes: int, units: int,
                hidden_activation: str, output_activation: str, optimizer: str, loss: str,
                learning_rate: float, seed: int) -> dict:
    """Write ``<output>/model.keras``: a compiled, untrained model."""
    if hidden_activation not in HIDDEN_ACTIVATIONS or output_activation not in OUTPUT_ACTIVATIONS:
        raise StepError(f"unsupported activations {hidden_activation!r}/{output_activation!r}; hidden one of "
                        f"{', '.join(HIDDEN_ACTIVATIONS)}, output one of {', '.join(OUTPUT_ACTIVATIONS)}")
    if min(height, width, classes, units) < 1:
        raise StepError(f"height, width, classes and units must be positive, got {height}, {width}, {classes}, {units}")
    quiet_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    model = make_network(model_type, height, width, classes, units, hidden_activation, output_activation)
    compile_model(model, optimizer, loss, learning_rate, output_activation)
    target = output / "model.keras"
    save_model(model, target)
    return {"model": str(target), "model_type": model_type, "parameters": int(model.count_params()), "parent": None}


def add_compile_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared with load_pretrained: what the model is compiled with."""
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--loss", default="sparse_categorical_crossentropy")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--output-activation", default="softmax", choices=OUTPUT_ACTIVATIONS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks build_model", description=__doc__)
    parser.add_argument("--output", required=True, type=Path, help="step output folder")
    parser.add_argument("--model-type", default="mlp", choices=MODEL_TYPES)
    parser.add_argument("--height", required=True, type=int)
    parser.add_argument("--width", required=True, type=int)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--hidden-activation", default="relu")
    parser.add_argument("--seed", type=int, default=42)
    add_compile_arguments(parser)
    a = parser.parse_args(argv)
    return run_cli("build_model", lambda: build_model(
        a.output, a.model_type, a.height, a.width, a.classes, a.units, a.hidden_activation,
        a.output_activation, a.optimizer, a.loss, a.learning_rate, a.seed))


if __name__ == "__main__":
    raise SystemExit(main())
