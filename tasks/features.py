"""Encode labels for the chosen loss and shape pixels into images.

Codes follow the fixed category order (not the order labels happen to appear), so
every run, and a pretrained model, agree on what output ``i`` means.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tasks.contracts import CONTRACTS
from tasks.core import parameters as p
from tasks.core.common import StepError, require_file, write_json
from tasks.core.contract import run_step
from tasks.data.arrays import Bundle, save_bundle
from tasks.data.encoding import encode, encoding_for_loss
from tasks.data.layout import category_index, parse_categories, pixel_columns

CONTRACT = CONTRACTS["features"]


def features(input: str, output: Path, image_height: int, image_width: int, loss: str,
             categories: str = p.CATEGORIES.default) -> dict:
    """Write ``<output>/features.npz`` and ``label_map.json`` from the prepared Parquet."""
    input_uri, height, width = input, image_height, image_width
    import pyarrow.parquet as pq

    path = require_file(input_uri, "prepared dataset")
    try:
        encoding = encoding_for_loss(loss)
        table = pq.read_table(path)
    except (ValueError, OSError) as err:
        raise StepError(f"{path}: {err}") from err
    columns = pixel_columns(height, width)
    present = set(table.column_names)  # the property builds a new list on every access: O(columns^2) in a loop
    missing = [name for name in ["label", *columns] if name not in present]
    if missing:
        raise StepError(f"{path}: missing columns {', '.join(missing[:3])} for {height}x{width} images")
    names = parse_categories(categories)
    index = category_index(names)
    labels = table.column("label").to_pylist()
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        raise StepError(f"{path}: unknown labels {unknown[:3]}; run prepare first")
    codes = np.fromiter((index[label] for label in labels), dtype="int64", count=len(labels))
    x = np.empty((table.num_rows, len(columns)), dtype="float32")  # filled in place: no stacked float64 copy
    for i, name in enumerate(columns):
        x[:, i] = table.column(name).to_numpy()
    bundle = Bundle(x.reshape(-1, height, width), encode(codes, encoding, len(index)),
                    names, encoding)
    target = CONTRACT.output_path(output, "features")
    save_bundle(target, bundle)
    label_map = {"encoding": encoding, "classes": list(names)}
    label_map_path = CONTRACT.output_path(output, "label_map")
    write_json(label_map_path, label_map)
    counts = np.bincount(codes, minlength=len(index))
    return {"features": str(target), "label_map": str(label_map_path), "rows": len(bundle),
            "encoding": encoding, "class_counts": dict(zip(names, counts.tolist(), strict=True))}


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, features)


if __name__ == "__main__":
    raise SystemExit(main())
