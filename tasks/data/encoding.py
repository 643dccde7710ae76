"""Label encodings and the losses they belong to, in one place.

The loss decides the encoding: sparse categorical cross-entropy takes integer
codes, categorical cross-entropy takes one-hot rows. (The thesis trained ten
one-hot classes with binary cross-entropy, which scores each of the ten outputs
separately and so inflates accuracy; it is deliberately not offered.)
"""

from __future__ import annotations

import numpy as np

from tasks.core.parameters import LOSSES

LOSS_ENCODINGS: dict[str, str] = dict(zip(LOSSES, ("integer", "onehot"), strict=True))


def encoding_for_loss(loss: str) -> str:
    """The label encoding that ``loss`` expects; ValueError for a loss we do not offer."""
    try:
        return LOSS_ENCODINGS[loss]
    except KeyError:
        raise ValueError(f"unsupported loss {loss!r}; expected one of {', '.join(LOSS_ENCODINGS)}") from None


def encode(codes: np.ndarray, encoding: str, n_classes: int) -> np.ndarray:
    """Encode integer class codes as ``encoding``."""
    if encoding == "integer":
        return codes.astype("int64")
    if encoding == "onehot":
        return np.eye(n_classes, dtype="float32")[codes]
    raise ValueError(f"unknown encoding {encoding!r}")


def class_indices(labels: np.ndarray) -> np.ndarray:
    """Integer class codes from either encoding."""
    return labels.argmax(axis=1) if labels.ndim == 2 else labels.astype("int64")
