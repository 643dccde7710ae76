"""Which registered model a training run belongs to: the name it is given, or one named after its input.

The versions of one registered model are compared with and replace each other, which only
makes sense when they take the same images and name the same categories. So an empty
``model_name`` (the default) is derived from the run's input, and a name that is given is
used exactly as given:

* ``fashion_mnist``: 28x28 images with the Fashion-MNIST categories (what ``k8s/tf-serving.yaml`` serves);
* ``fashion_mnist_<H>x<W>``: the Fashion-MNIST categories at another size (the embedded 8x8
  digits: ``fashion_mnist_8x8``);
* ``classes_<8 hex>_<H>x<W>``: other categories; the hex starts the SHA-256 of their names.

Standard library only: the trigger form's text and the steps share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from tasks.core.common import StepError
from tasks.core.layout import FASHION_MNIST_CATEGORIES

BASE_NAME = "fashion_mnist"
BASE_SHAPE = (28, 28)


def derived_model_name(image_shape: Sequence[int], categories: Sequence[str]) -> str:
    """The registered model's name for this input: equal inputs, equal names; other inputs, other names."""
    shape = tuple(int(side) for side in image_shape)
    if tuple(categories) == FASHION_MNIST_CATEGORIES:
        base = BASE_NAME
        if shape == BASE_SHAPE:
            return base
    else:
        digest = hashlib.sha256(json.dumps([str(c) for c in categories]).encode()).hexdigest()
        base = f"classes_{digest[:8]}"
    return f"{base}_{'x'.join(map(str, shape))}"


def model_name_for(model_name: str | None, image_shape: Sequence[int],
                   categories: Sequence[str]) -> tuple[str, bool]:
    """The name a training run registers under, and whether it was derived (``model_name`` empty or None)."""
    if model_name:
        return model_name, False
    return derived_model_name(image_shape, categories), True


def required_model_name(model_name: str | None, action: str) -> str:
    """``model_name`` for a step that acts on an existing model (deploy, rollback): it cannot be derived there."""
    if not model_name:
        raise StepError(f"model_name is empty: name the registered model to {action} (a training run's register "
                        "result and run report say which, e.g. fashion_mnist or fashion_mnist_8x8)")
    return model_name
