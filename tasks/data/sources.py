"""The offline datasets: real images in the Fashion-MNIST CSV layout, with the thesis' faults.

- ``embedded://digits``: scikit-learn ships 1,797 real 8x8 handwritten digits (digit ``d``
  carries Fashion-MNIST category ``d``); no download is needed.
- ``embedded://fashion-mnist-sample``: 999 real 28x28 Fashion-MNIST images shipped in
  ``tasks/data/samples/`` with their MIT notice.

Both are written as ``label,pixel1..pixelN`` with integer pixels 0..255 and labels given as
category names, and then damaged the way the source thesis damaged Fashion-MNIST: a share
of labels replaced by invalid names and a share of pixel cells emptied, so that cleaning
has real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.core.layout import (
    EMBEDDED_DIGITS,
    EMBEDDED_FASHION_SAMPLE,
    EMBEDDED_SOURCES,
    FASHION_MNIST_CATEGORIES,
    THESIS_INVALID_LABELS,
    pixel_columns,
)

DIGITS_HEIGHT = 8
DIGITS_WIDTH = 8
FASHION_SAMPLE_SIDE = 28
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
FASHION_SAMPLE_FILE = SAMPLES_DIR / "fashion-mnist-sample.csv.gz"
# Image shape of each embedded source, so a message can say which shape to set.


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def build_embedded_frame(source: str, invalid_label_rate: float, empty_cell_rate: float, seed: int) -> Any:
    """Return the embedded ``source`` as a Fashion-MNIST-layout frame with injected faults."""
    if source == EMBEDDED_DIGITS:
        return build_digits_frame(invalid_label_rate, empty_cell_rate, seed)
    if source == EMBEDDED_FASHION_SAMPLE:
        return build_fashion_sample_frame(invalid_label_rate, empty_cell_rate, seed)
    raise ValueError(f"unknown embedded source {source!r}; known: {', '.join(EMBEDDED_SOURCES)}")


def build_digits_frame(invalid_label_rate: float, empty_cell_rate: float, seed: int) -> Any:
    """Return the digits as a Fashion-MNIST-layout frame with injected faults.

    Args:
        invalid_label_rate: share of rows whose label becomes an invalid name.
        empty_cell_rate: share of pixel cells that become empty.
        seed: seed of the fault positions, so a given setting is reproducible.
    """
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.data * (255.0 / 16.0)).astype("int64")
    return _with_faults(pixels, digits.target, DIGITS_HEIGHT, DIGITS_WIDTH,
                        invalid_label_rate, empty_cell_rate, seed)


def build_fashion_sample_frame(invalid_label_rate: float, empty_cell_rate: float, seed: int) -> Any:
    """Return the shipped 999-image Fashion-MNIST sample with injected faults (see ``build_digits_frame``)."""
    import pandas as pd

    clean = pd.read_csv(FASHION_SAMPLE_FILE, dtype="int64")
    pixels = clean[pixel_columns(FASHION_SAMPLE_SIDE, FASHION_SAMPLE_SIDE)].to_numpy()
    return _with_faults(pixels, clean["label"].to_numpy(), FASHION_SAMPLE_SIDE, FASHION_SAMPLE_SIDE,
                        invalid_label_rate, empty_cell_rate, seed)


def _with_faults(pixels: Any, codes: Any, height: int, width: int, invalid_label_rate: float,
                 empty_cell_rate: float, seed: int) -> Any:
    """Labels as category names, then a share of invalid labels and of empty cells at seeded positions."""
    import numpy as np
    import pandas as pd

    _check_rate("invalid_label_rate", invalid_label_rate)
    _check_rate("empty_cell_rate", empty_cell_rate)
    frame = pd.DataFrame(pixels, columns=pixel_columns(height, width)).astype("Int64")
    labels = np.asarray(FASHION_MNIST_CATEGORIES, dtype=object)[codes]

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
