"""Data quality gate: check a dataset against a Great Expectations suite before it is used.

``--suite raw`` checks the fetched CSV (layout, labels, pixel range, empty cells, row
count) with thresholds loose enough for the faults ``prepare`` cleans; ``--suite
prepared`` checks the cleaned Parquet strictly. The step writes ``validation.json``
and Data Docs HTML under ``--output`` and fails (exit 2, one line naming the file and
the broken rules) when the suite fails, so nothing is trained on a bad batch.
A file that cannot be read at all fails before any report is written.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tasks.categories import FASHION_MNIST_CATEGORIES, pixel_columns
from tasks.column_profile import profile_prepared, profile_raw
from tasks.common import StepError, atomic_dir, require_file, run_cli, write_json
from tasks.gx_suite import describe, load_suite, run_suite
from tasks.raw_csv import read_header, read_table

SUITES = ("raw", "prepared")


@dataclass(frozen=True)
class Thresholds:
    """The knobs a user tunes per run (the DAG's Params)."""

    min_valid_label_share: float = 0.99
    max_empty_cell_share: float = 0.01
    min_rows: int = 10
    min_class_share: float = 0.02


def suite_values(height: int, width: int, categories: list[str], limits: Thresholds) -> dict[str, Any]:
    """What the suites' ``$placeholders`` stand for in this run."""
    codes = [str(code) for code in range(len(categories))]
    return {"columns": ["label", *pixel_columns(height, width)], "categories": list(categories),
            "label_values": [*categories, *codes], **asdict(limits)}


def raw_frames(uri: str) -> dict:
    """Read the CSV once and summarise it into the raw suite's frames."""
    path = require_file(uri, "dataset")
    header = read_header(path)
    return profile_raw(path, read_table(path, header), header)


def prepared_frames(uri: str, categories: list[str]) -> dict:
    """Read the prepared Parquet and summarise it into the prepared suite's frames."""
    path = require_file(uri, "prepared dataset")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as err:
        raise StepError(f"{path}: not a readable Parquet file ({str(err).splitlines()[0]})") from err
    if frame.empty:
        raise StepError(f"{path}: no rows")
    return profile_prepared(frame, categories)


def check(suite: str, uri: str, values: dict[str, Any], docs_dir: Path | None = None) -> list[dict]:
    """Run ``suite`` on the dataset at ``uri``; the benchmark times exactly this."""
    frames = raw_frames(uri) if suite == "raw" else prepared_frames(uri, values["categories"])
    return run_suite(load_suite(suite, values), frames, docs_dir)


def validate(suite: str, uri: str, output: Path, values: dict[str, Any]) -> dict:
    """Validate, write ``validation.json`` and Data Docs, and fail if any expectation failed."""
    with atomic_dir(output / "data_docs") as docs:
        records = check(suite, uri, values, docs)
    failed = [describe(record) for record in records if not record["success"]]
    report = {
        "suite": suite,
        "input": uri,
        "success": not failed,
        "summary": {"evaluated": len(records), "successful": len(records) - len(failed), "failed": len(failed)},
        "parameters": {k: v for k, v in values.items() if k not in ("columns", "label_values")},
        "expectations": records,
    }
    write_json(output / "validation.json", report)
    index = output / "data_docs" / "index.html"
    if failed:
        raise StepError(f"{uri}: {suite} suite failed {len(failed)} of {len(records)} expectations "
                        f"(report: {index}): " + "; ".join(failed))
    return {"success": True, "suite": suite, "input": uri, "summary": report["summary"], "data_docs": str(index),
            "validation": str(output / "validation.json"), "failed": failed}


def main(argv: list[str] | None = None) -> int:
    defaults = Thresholds()
    parser = argparse.ArgumentParser(prog="python -m tasks validate", description=__doc__)
    parser.add_argument("--suite", required=True, choices=SUITES, help="which checkpoint's suite to run")
    parser.add_argument("--input", required=True, help="raw CSV (raw) or prepared Parquet (prepared)")
    parser.add_argument("--output", required=True, type=Path, help="step output folder")
    parser.add_argument("--height", required=True, type=int, help="image height in pixels")
    parser.add_argument("--width", required=True, type=int, help="image width in pixels")
    parser.add_argument("--categories", default=",".join(FASHION_MNIST_CATEGORIES),
                        help="comma-separated category names, in label-code order")
    parser.add_argument("--min-valid-label-share", type=float, default=defaults.min_valid_label_share,
                        help="raw: least share of rows whose label is a known category")
    parser.add_argument("--max-empty-cell-share", type=float, default=defaults.max_empty_cell_share,
                        help="raw: largest share of empty cells")
    parser.add_argument("--min-rows", type=int, default=defaults.min_rows, help="least number of data rows")
    parser.add_argument("--min-class-share", type=float, default=defaults.min_class_share,
                        help="prepared: least share of rows for every class")
    args = parser.parse_args(argv)
    limits = Thresholds(args.min_valid_label_share, args.max_empty_cell_share, args.min_rows, args.min_class_share)
    values = suite_values(args.height, args.width, args.categories.split(","), limits)
    return run_cli("validate", lambda: validate(args.suite, args.input, args.output, values))


if __name__ == "__main__":
    raise SystemExit(main())
