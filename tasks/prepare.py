"""Clean the raw CSV: unify dtypes, drop rows with empty cells or unknown labels, scale pixels.

Labels may be category names (the embedded dataset) or integer codes (the Kaggle CSV
and IDX files); both become category names. A non-numeric or out-of-range pixel is
not a fault to clean but a broken file, so it fails the step instead of being dropped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.categories import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.common import StepError, atomic_file, run_cli, write_json
from tasks.raw_csv import read_raw_csv


def normalise_labels(labels: pd.Series) -> pd.Series:
    """Map names and integer codes to category names; anything else becomes NA."""
    text = labels.astype("string").str.strip()
    by_code = {str(code): name for code, name in enumerate(FASHION_MNIST_CATEGORIES)}
    by_name = {name: name for name in FASHION_MNIST_CATEGORIES}
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


def prepare(input_uri: str, output: Path, height: int, width: int) -> dict:
    """Write ``<output>/prepared.parquet`` and report rows in, dropped by reason, and out."""
    frame = read_raw_csv(input_uri, height, width)
    columns = pixel_columns(height, width)
    values = numeric_pixels(input_uri, frame, columns)
    labels = normalise_labels(frame["label"])

    empty = np.isnan(values).any(axis=1) | frame["label"].isna().to_numpy()
    invalid = ~empty & labels.isna().to_numpy()
    keep = ~(empty | invalid)
    if not keep.any():
        raise StepError(f"{input_uri}: no rows left after cleaning ({int(empty.sum())} with empty cells, "
                        f"{int(invalid.sum())} with invalid labels)")

    import pyarrow as pa
    import pyarrow.parquet as pq

    scaled = values[keep] / np.float32(255.0)
    table = pa.table({"label": pa.array(labels[keep].to_numpy(dtype=object), pa.string()),
                      **{name: pa.array(scaled[:, i]) for i, name in enumerate(columns)}})
    target = output / "prepared.parquet"
    with atomic_file(target) as tmp:
        pq.write_table(table, tmp)
    report = {
        "prepared": str(target),
        "rows_in": len(frame),
        "dropped_empty_cells": int(empty.sum()),
        "dropped_invalid_label": int(invalid.sum()),
        "rows_out": int(keep.sum()),
    }
    write_json(output / "prepare_report.json", report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks prepare", description=__doc__)
    parser.add_argument("--input", required=True, help="raw CSV (Fashion-MNIST layout)")
    parser.add_argument("--output", required=True, type=Path, help="step output folder")
    parser.add_argument("--height", required=True, type=int, help="image height in pixels")
    parser.add_argument("--width", required=True, type=int, help="image width in pixels")
    args = parser.parse_args(argv)
    return run_cli("prepare", lambda: prepare(args.input, args.output, args.height, args.width))


if __name__ == "__main__":
    raise SystemExit(main())
