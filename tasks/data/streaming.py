"""``prepare`` after the columnar copy, in record batches, and the prepared suite's one pass over them.

Each reads an Arrow file (:mod:`tasks.data.table_file`) a record batch at a time and
writes as it goes, so memory does not grow with the dataset. Pixels stay uint8 on disk;
training divides by 255 per batch. ``prepare`` drops rows with an empty cell or an unknown
label and fails on a non-numeric, fractional or out-of-range pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.core.common import StepError, atomic_file, require_file, write_json
from tasks.core.layout import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.data.arrow_numpy import from_numpy, rows_with_nulls, strings, values
from tasks.data.columnar import COPY_NAME, read_profile
from tasks.data.raw_csv import check_layout
from tasks.data.table_file import TableFile, table_writer


def _label_codes(labels, raw: bool = True, categories: tuple[str, ...] = FASHION_MNIST_CATEGORIES) -> np.ndarray:
    """Label codes 0..9 (the position in ``categories``), -1 for anything else; ``raw`` also takes codes "0".."9"
    and ignores surrounding spaces."""
    import pyarrow.compute as pc

    classes = len(categories)
    known = strings([*categories, *(map(str, range(classes)) if raw else ())])
    text = pc.utf8_trim_whitespace(labels) if raw else labels
    found = values(pc.index_in(text, value_set=known), fill=-1)
    return np.where(found >= 0, found % classes, -1)


def _refuse_faults(source: str, profile: dict) -> None:
    """Fail as today's prepare does on the first non-numeric, then out-of-range, then fractional pixel."""
    faults = profile["faults"]
    order = {name: i for i, name in reversed(list(enumerate(profile["header"])))}
    for rule, what in (("non_numeric", "non-numeric pixel {value!r}"), ("out_of_range", "pixel {value} outside 0..255"),
                       ("non_integer", "pixel {value} is not a whole number")):
        hits = sorted((order[column], f[f"first_{rule}"]["row"], column, f[f"first_{rule}"]["value"])
                      for column, f in faults.items() if f.get(rule))
        if hits:  # non-numeric: first column, then its first row; else the first row, then its first column
            _, row, column, value = hits[0] if rule == "non_numeric" else min(hits, key=lambda hit: hit[1::-1])
            raise StepError(f"{source}: {what.format(value=value.strip() if rule != 'non_numeric' else value)} "
                            f"in column {column}, row {row + 1}")


def prepare_columnar(profile_uri: str, output: Path, height: int, width: int,
                     categories: tuple[str, ...] = FASHION_MNIST_CATEGORIES) -> dict:
    """Write ``<output>/prepared.arrow`` (label names, uint8 pixels) from the columnar copy."""
    import pyarrow as pa
    import pyarrow.compute as pc

    profile = read_profile(profile_uri)
    source = profile.get("source", profile_uri)
    check_layout(Path(source), profile["header"], height, width)
    _refuse_faults(source, profile)
    columns = pixel_columns(height, width)
    names = strings(categories)
    schema = pa.schema([("label", pa.string()), *[(name, pa.uint8()) for name in columns]])
    rows_in = empty_rows = invalid_rows = 0
    target = output / "prepared.arrow"
    copy = TableFile(Path(profile["path"]).with_name(COPY_NAME), "columnar")
    with atomic_file(target) as tmp, table_writer(tmp, schema) as writer:
        for batch in copy.batches(["label", *columns]):
            empty = rows_with_nulls(batch.columns[1:], batch.num_rows)
            codes = _label_codes(batch.column(0), categories=categories)
            invalid = ~empty & (codes < 0)
            keep = ~(empty | invalid)
            rows_in += len(keep)
            empty_rows, invalid_rows = empty_rows + int(empty.sum()), invalid_rows + int(invalid.sum())
            if keep.any():
                kept = batch.filter(from_numpy(keep))
                label = pc.take(names, from_numpy(codes[keep]))
                writer.write_batch(pa.record_batch([label, *kept.columns[1:]], schema=schema))
        if rows_in == empty_rows + invalid_rows:
            raise StepError(f"{source}: no rows left after cleaning ({int(empty_rows)} with empty cells, "
                            f"{int(invalid_rows)} with invalid labels)")
    report = {"prepared": str(target), "rows_in": int(rows_in), "dropped_empty_cells": int(empty_rows),
              "dropped_invalid_label": int(invalid_rows), "rows_out": int(rows_in - empty_rows - invalid_rows)}
    write_json(output / "prepare_report.json", report)
    return report


def _prepared(uri: str, height: int, width: int):
    """Open the prepared data, failing with one line when it is not an Arrow file for this image size."""
    path = require_file(uri, "prepared dataset")
    reader = TableFile(path, "prepared")
    present = set(reader.schema.names)
    missing = [name for name in ["label", *pixel_columns(height, width)] if name not in present]
    if missing:
        raise StepError(f"{path}: missing columns {', '.join(missing[:3])} for {height}x{width} images")
    return path, reader


def prepared_frames_columnar(uri: str, categories: list[str]) -> dict:
    """The prepared suite's frames from uint8 pixels, batch by batch; min/max as training sees them (/255)."""
    import pandas as pd

    from tasks.data.column_profile import header_frame

    path, reader = _prepared(uri, 1, 0)
    pixels = [name for name in reader.schema.names if name != "label"]
    nulls = np.zeros(len(pixels), dtype=np.int64)
    low, high = np.full(len(pixels), 255, dtype=np.uint8), np.zeros(len(pixels), dtype=np.uint8)
    rows = 0
    for batch in reader.batches(pixels):
        rows += batch.num_rows
        for j, column in enumerate(batch.columns):
            nulls[j] += column.null_count
            values = column.drop_null().to_numpy()
            if len(values):
                low[j], high[j] = min(low[j], values.min()), max(high[j], values.max())
    if rows == 0:
        raise StepError(f"{path}: no rows")
    scale = np.float32(255.0)
    columns = pd.DataFrame({"column": pixels, "nulls": nulls,
                            "min": (low.astype(np.float32) / scale).astype(np.float64),
                            "max": (high.astype(np.float32) / scale).astype(np.float64)})
    labels = pd.DataFrame({"label": reader.column("label").to_numpy()})
    counts = labels["label"].value_counts()
    per_class = [int(counts.get(name, 0)) for name in categories]
    classes = pd.DataFrame({"column": categories, "rows": per_class, "share": [n / rows for n in per_class]})
    return {"header": header_frame(["label", *pixels]), "labels": labels.astype(object), "columns": columns,
            "classes": classes}
