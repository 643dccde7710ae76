"""Clean the raw CSV: unify dtypes, drop rows with empty cells or unknown labels, scale pixels.

Labels may be category names (the embedded dataset) or integer codes (the Kaggle CSV
and IDX files); both become category names. A non-numeric or out-of-range pixel is
not a fault to clean but a broken file, so it fails the step instead of being dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core import parameters as p
from tasks.core.common import StepError, atomic_file, write_json
from tasks.core.contract import run_step
from tasks.data.cleaning import normalise_labels, numeric_pixels
from tasks.data.layout import parse_categories, pixel_columns
from tasks.data.raw_csv import read_raw_csv

CONTRACT = CONTRACTS["prepare"]


def prepare(input: str, output: Path, image_height: int, image_width: int,
            categories: str = p.CATEGORIES.default) -> dict:
    """Write ``<output>/prepared.parquet`` and report rows in, dropped by reason, and out."""
    input_uri, height, width = input, image_height, image_width
    frame = read_raw_csv(input_uri, height, width)
    columns = pixel_columns(height, width)
    values = numeric_pixels(input_uri, frame, columns)
    labels = normalise_labels(frame["label"], parse_categories(categories))

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
    target = CONTRACT.output_path(output, "prepared")
    with atomic_file(target) as tmp:
        pq.write_table(table, tmp)
    report = {
        "prepared": str(target),
        "rows_in": len(frame),
        "dropped_empty_cells": int(empty.sum()),
        "dropped_invalid_label": int(invalid.sum()),
        "rows_out": int(keep.sum()),
    }
    write_json(CONTRACT.output_path(output, "report"), report)
    return report


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, prepare)


if __name__ == "__main__":
    raise SystemExit(main())
