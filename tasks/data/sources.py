"""The offline default dataset: scikit-learn's real digits in the Fashion-MNIST CSV layout.

scikit-learn ships 1,797 real 8x8 handwritten digits; no download is needed. They are
written as ``label,pixel1..pixel64`` with integer pixels 0..255 and labels given as
category names (digit ``d`` carries Fashion-MNIST category ``d``), and then damaged
the way the source thesis damaged Fashion-MNIST: a share of labels replaced by
invalid names and a share of pixel cells emptied, so that cleaning has real work.
"""

from __future__ import annotations

from typing import Any

from tasks.data.layout import FASHION_MNIST_CATEGORIES, THESIS_INVALID_LABELS, pixel_columns

DIGITS_HEIGHT = 8
DIGITS_WIDTH = 8
# The one home of the embedded sources' names (the trigger form's default and fetch's dispatch).
EMBEDDED_DIGITS = "embedded://digits"
EMBEDDED_SOURCES = (EMBEDDED_DIGITS,)


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def build_digits_frame(invalid_label_rate: float, empty_cell_rate: float, seed: int) -> Any:
    """Return the digits as a Fashion-MNIST-layout frame with injected faults.

    Args:
        invalid_label_rate: share of rows whose label becomes an invalid name.
        empty_cell_rate: share of pixel cells that become empty.
        seed: seed of the fault positions, so a given setting is reproducible.
    """
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_digits

    _check_rate("invalid_label_rate", invalid_label_rate)
    _check_rate("empty_cell_rate", empty_cell_rate)
    digits = load_digits()
    pixels = np.rint(digits.data * (255.0 / 16.0)).astype("int64")
    frame = pd.DataFrame(pixels, columns=pixel_columns(DIGITS_HEIGHT, DIGITS_WIDTH)).astype("Int64")
    labels = np.asarray(FASHION_MNIST_CATEGORIES, dtype=object)[digits.target]

    rng = np.random.default_rng(seed)
    n_rows, n_pixels = pixels.shape
    bad_rows = rng.choice(n_rows, size=round(invalid_label_rate * n_rows), replace=False)
    labels[bad_rows] = rng.choice(np.asarray(THESIS_INVALID_LABELS, dtype=object), size=len(bad_rows))

    n_empty = round(empty_cell_rate * n_rows * n_pixels)
    flat = rng.choice(n_rows * n_pixels, size=n_empty, replace=False)
    values = frame.to_numpy(dtype=object)
    values[flat // n_pixels, flat % n_pixels] = pd.NA
    frame = pd.DataFrame(values, columns=frame.columns).astype("Int64")
    frame.insert(0, "label", labels)
    return frame
