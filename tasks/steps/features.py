"""Encode labels for the chosen loss and shape uint8 pixels into images.

Codes follow the fixed category order (not the order labels happen to appear), so
every run, and a pretrained model, agree on what output ``i`` means. The prepared
Arrow file is read in record batches straight into one uint8 array (a quarter of the
float32 one; training scales each batch), so memory is the images and one batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core import parameters as p
from tasks.core.common import StepError, write_json
from tasks.core.contract import run_step
from tasks.core.layout import FASHION_MNIST_CATEGORIES, parse_categories, pixel_columns
from tasks.data.arrays import Bundle, save_bundle
from tasks.data.arrow_numpy import values
from tasks.data.encoding import encode, encoding_for_loss
from tasks.data.streaming import _label_codes, _prepared

CONTRACT = CONTRACTS["features"]


def read_images(input: str, height: int, width: int,
                categories: tuple[str, ...] = FASHION_MNIST_CATEGORIES) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (rows, height, width) and label codes from ``prepare``'s Arrow file, batch by batch."""
    import pyarrow as pa

    path, reader = _prepared(input, height, width)
    columns = pixel_columns(height, width)
    wrong = [f.name for f in reader.schema if f.name in set(columns) and not pa.types.is_uint8(f.type)]
    if wrong:
        raise StepError(f"{path}: column {wrong[0]} is not uint8 pixels; run prepare first")
    rows = reader.num_rows
    x, codes, done = np.empty((rows, len(columns)), dtype=np.uint8), np.empty(rows, dtype=np.int64), 0
    for batch in reader.batches(["label", *columns]):
        end = done + batch.num_rows
        codes[done:end] = _label_codes(batch.column(0), raw=False, categories=categories)
        if (codes[done:end] < 0).any():
            unknown = sorted(set(batch.column(0).filter(pa.array(codes[done:end] < 0)).to_pylist()), key=str)
            raise StepError(f"{path}: unknown labels {unknown[:3]}; run prepare first")
        for j, column in enumerate(batch.columns[1:]):
            if column.null_count:
                raise StepError(f"{path}: empty cells in column {columns[j]}; run prepare first")
            x[done:end, j] = values(column)
        done = end
    return x.reshape(-1, height, width), codes


def features(input: str, output: Path, image_height: int, image_width: int, loss: str,
             categories: str = p.CATEGORIES.default) -> dict:
    """Write ``<output>/features.npz`` (uint8 images) and ``label_map.json`` from the prepared Arrow file."""
    try:
        encoding = encoding_for_loss(loss)
        names = parse_categories(categories)
    except ValueError as err:
        raise StepError(f"{input}: {err}") from err
    x, codes = read_images(input, image_height, image_width, names)
    bundle = Bundle(x, encode(codes, encoding, len(names)), names, encoding)
    target = CONTRACT.output_path(output, "features")
    save_bundle(target, bundle)
    label_map = {"encoding": encoding, "classes": list(names)}
    label_map_path = CONTRACT.output_path(output, "label_map")
    write_json(label_map_path, label_map)
    counts = np.bincount(codes, minlength=len(names))
    return {"features": str(target), "label_map": str(label_map_path), "rows": len(bundle),
            "encoding": encoding, "class_counts": dict(zip(names, counts.tolist(), strict=True))}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, features)


if __name__ == "__main__":
    raise SystemExit(main())
