"""Row-level cleaning rules shared by ``prepare`` and ``predict``: label names and pixel values.

Labels may be category names (the embedded dataset) or integer codes (the Kaggle CSV
and IDX files); both become category names. A non-numeric or out-of-range pixel is
not a fault to clean but a broken file, so it fails instead of being dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.core.common import StepError
from tasks.core.layout import FASHION_MNIST_CATEGORIES


def normalise_labels(labels: pd.Series, categories: tuple[str, ...] = FASHION_MNIST_CATEGORIES) -> pd.Series:
    """Map names and integer codes to ``categories`` (in label-code order); anything else becomes NA."""
    text = labels.astype("string").str.strip()
    by_code = {str(code): name for code, name in enumerate(categories)}
    by_name = {name: name for name in categories}
    return text.map(lambda value: by_name.get(value, by_code.get(value)) if pd.notna(value) else None)


def numeric_pixels(path: str, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Pixels as float32 (NaN where empty); fail on text or values outside 0..255."""
    for name in columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            bad = numbers.isna() & column.notna() & (column.astype("string").str.strip() != "")
            if bad.any():
                row = int(bad.idxmax())
                raise StepError(f"{path}: non-numeric pixel {column[row]!r} in column {name}, row {row + 1}")
            frame[name] = numbers
    values = frame[columns].to_numpy(dtype="float32", na_value=np.nan)
    out_of_range = (values < 0) | (values > 255)
    if out_of_range.any():
        row, col = map(int, np.argwhere(out_of_range)[0])
        raise StepError(f"{path}: pixel {values[row, col]:g} outside 0..255 in column {columns[col]}, row {row + 1}")
    return values
