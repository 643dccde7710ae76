"""Load an existing model and adapt it to this run's images and classes, for fine-tuning.

An explicit ``base_model_uri`` outside the registry goes through the dataset allowlist
(``tasks/data/uri_policy.py``) before anything is read, like ``dataset_uri``.

The base defaults to the registered champion (``models:/<name>@champion``; an empty
``model_name`` is the name this run's input derives, ``tasks/model/naming.py``), resolved
to its exact version so that the new model records its parent. When the class
count differs, the output layer is replaced (the learned features stay); when the
image size differs, a resizing front end maps the new images onto the size the
model learned on. The model is then recompiled with the run's optimizer, loss and
learning rate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core.common import StepError
from tasks.core.contract import run_step
from tasks.core.layout import FASHION_MNIST_CATEGORIES, parse_categories
from tasks.data.uri_policy import check_model_uri, roots_from_env
from tasks.model.model_io import compile_model, image_shape, load_model, quiet_tensorflow, save_model
from tasks.model.naming import model_name_for
from tasks.model.registry import CHAMPION, champion_version, client, download_model

CONTRACT = CONTRACTS["load_pretrained"]


def adapt_model(model: Any, height: int, width: int, classes: int) -> tuple[Any, list[str]]:
    """Return the model adapted to ``(height, width)`` images and ``classes`` outputs."""
    quiet_tensorflow()
    import keras
    from keras import layers

    changes: list[str] = []
    if len(image_shape(model)) != 2:
        raise StepError(f"model input {image_shape(model)} is not a (height, width) image")
    if int(model.output_shape[-1]) != classes:
        head = model.layers[-1]
        outputs = layers.Dense(classes, activation=head.activation, name="classes_adapted")(model.layers[-2].output)
        model = keras.Model(model.inputs, outputs, name=model.name)
        changes.append(f"output layer replaced for {classes} classes")
    old_h, old_w = image_shape(model)
    if (old_h, old_w) != (height, width):
        inputs = keras.Input(shape=(height, width), name="image")
        resized = layers.Reshape((old_h, old_w))(
            layers.Resizing(old_h, old_w)(layers.Reshape((height, width, 1))(inputs)))
        model = keras.Model(inputs, model(resized), name=model.name)
        changes.append(f"input resized from {height}x{width} to {old_h}x{old_w}")
    return model, changes


def resolve_base(model_uri: str, tracking_uri: str, model_name: str) -> str:
    """The concrete base model: an explicit URI, or the registered champion's exact version."""
    if model_uri and not model_uri.endswith(f"@{CHAMPION}"):
        return model_uri
    name = model_uri.removeprefix("models:/").split("@")[0] if model_uri else model_name
    champion = champion_version(client(tracking_uri), name)
    if champion is None:
        raise StepError(f"model {name!r} has no champion in the registry at {tracking_uri}: train from scratch "
                        "first (use_pretrained_model=false) or set base_model_uri")
    return f"models:/{name}/{champion.version}"


def load_pretrained(base_model_uri: str | None, output: Path, image_height: int, image_width: int, classes: int,
                    optimizer: str, loss: str, learning_rate: float, output_activation: str, tracking_uri: str = "",
                    model_name: str | None = "", categories: str = ",".join(FASHION_MNIST_CATEGORIES)) -> dict:
    """Write ``<output>/model.keras``: the adapted, recompiled base model, and name its parent."""
    model_uri, height, width = base_model_uri or "", image_height, image_width
    model_name = model_name_for(model_name, (height, width), parse_categories(categories))[0]
    if not model_uri and not tracking_uri:
        raise StepError("no base model URI given: set base_model_uri, or train from scratch "
                        "(use_pretrained_model=false) to create a first model")
    if model_uri:
        model_uri = check_model_uri(model_uri, *roots_from_env())
    parent = resolve_base(model_uri, tracking_uri, model_name)
    with tempfile.TemporaryDirectory() as scratch:
        base = load_model(str(download_model(parent, tracking_uri, Path(scratch))))
    model, changes = adapt_model(base, height, width, classes)
    compile_model(model, optimizer, loss, learning_rate, output_activation)
    target = CONTRACT.output_path(output, "model")
    save_model(model, target)
    return {"model": str(target), "parent": parent, "adaptations": changes,
            "parameters": int(model.count_params())}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, load_pretrained)


if __name__ == "__main__":
    raise SystemExit(main())
