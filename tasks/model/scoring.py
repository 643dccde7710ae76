"""Score a model on a bundle: the one place predictions become class codes and accuracy.

``evaluate`` scores the challenger with it and ``register`` scores the champion with
it, so the two numbers the gate compares are computed the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tasks.data.arrays import Bundle
from tasks.data.encoding import class_indices

BATCH_SIZE = 256


def predicted_classes(model: Any, bundle: Bundle, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The class code the model ranks first for each image of ``bundle``."""
    return np.asarray(model.predict(bundle.x, batch_size=batch_size, verbose=0)).argmax(axis=1)


def accuracy(model: Any, bundle: Bundle, batch_size: int = BATCH_SIZE) -> float:
    """Share of ``bundle``'s images whose first-ranked class is the true one."""
    return float((predicted_classes(model, bundle, batch_size) == class_indices(bundle.y)).mean())
