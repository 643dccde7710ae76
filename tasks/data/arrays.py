"""Read and write the ``.npz`` bundles that pass images and labels between steps.

A bundle holds ``x`` (n, height, width): uint8 pixels 0..255 as ``features`` writes them
(a quarter of float32's size), or float32 in [0, 1]; ``y`` in the loss's encoding,
``classes`` (the category names, in code order) and ``encoding``, so the label mapping
always travels with the data. :func:`load_bundle` scales uint8 pixels to [0, 1] unless
asked not to: ``split`` keeps them uint8 and ``train`` scales them per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.core.common import StepError, atomic_file, require_file


@dataclass(frozen=True)
class Bundle:
    """Images with their encoded labels and the mapping that decodes them."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    encoding: str

    def __len__(self) -> int:
        return int(self.x.shape[0])


def save_bundle(path: Path, bundle: Bundle) -> None:
    """Write a bundle atomically."""
    with atomic_file(path) as tmp:
        with tmp.open("wb") as handle:
            np.savez(handle, x=bundle.x, y=bundle.y, classes=np.asarray(bundle.classes), encoding=bundle.encoding)


def load_bundle(uri: str, scaled: bool = True) -> Bundle:
    """Read a bundle, failing with one line if the file is missing or not a bundle.

    With ``scaled``, uint8 pixels come back as float32 in [0, 1] (``pixel / 255``);
    without, as stored.
    """
    path = require_file(uri, "array bundle")
    try:
        with np.load(path, allow_pickle=False) as data:
            bundle = Bundle(data["x"], data["y"], tuple(str(c) for c in data["classes"]), str(data["encoding"]))
    except (KeyError, ValueError, OSError) as err:
        raise StepError(f"{path}: not an array bundle ({err})") from err
    if scaled and bundle.x.dtype == np.uint8:
        return Bundle(scale_pixels(bundle.x), bundle.y, bundle.classes, bundle.encoding)
    return bundle


def scale_pixels(x: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], the values prepare used to store (``float32(pixel) / 255``)."""
    return np.divide(x, np.float32(255.0), dtype=np.float32)
