"""Data quality gate: check a dataset against a Great Expectations suite before it is used.

``--suite raw`` checks the fetched data (layout, labels, pixel range, empty cells, row
count) with thresholds loose enough for the faults ``prepare`` cleans: in the pipeline
it reads ``fetch``'s raw profile and the label column of its columnar copy (the CSV is
parsed once per run, by ``fetch``); given a CSV it profiles the CSV itself. ``--suite
prepared`` checks the cleaned data (an Arrow file) strictly, batch by batch. The step
writes ``validation.json`` and Data Docs HTML under ``--output`` and fails (exit 2, one line naming the file and
the broken rules) when the suite fails, so nothing is trained on a bad batch.
A file that cannot be read at all fails before any report is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tasks.contracts import CONTRACTS
from tasks.core import parameters as p
from tasks.core.common import StepError, atomic_dir, require_file, write_json
from tasks.core.contract import run_step
from tasks.core.layout import parse_categories, pixel_columns
from tasks.data.columnar import PROFILE_NAME
from tasks.data.raw_csv import read_header, read_table, require_label
from tasks.data.validation_page import render_validation_page

CONTRACT = CONTRACTS["validate"]


@dataclass(frozen=True)
class Thresholds:
    """The knobs a user tunes per run (the DAG's Params)."""

    min_valid_label_share: float = p.MIN_VALID_LABEL_SHARE.default
    max_empty_cell_share: float = p.MAX_EMPTY_CELL_SHARE.default
    min_rows: int = p.MIN_ROWS.default
    min_class_share: float = p.MIN_CLASS_SHARE.default


def suite_values(height: int, width: int, categories: list[str], limits: Thresholds) -> dict[str, Any]:
    """What the suites' ``$placeholders`` stand for in this run."""
    codes = [str(code) for code in range(len(categories))]
    return {"columns": ["label", *pixel_columns(height, width)], "categories": list(categories),
            "label_values": [*categories, *codes], **asdict(limits)}


def raw_frames(uri: str) -> dict:
    """The raw suite's frames: from ``fetch``'s raw profile, or from reading a CSV once."""
    if uri.endswith(PROFILE_NAME):
        from tasks.data.columnar import raw_frames as columnar_frames

        return columnar_frames(uri)
    from tasks.data.column_profile import profile_raw

    path = require_file(uri, "dataset")
    header = read_header(path)
    require_label(path, header)  # without one the file may be anything: the report would show its first line
    return profile_raw(path, read_table(path, header), header)


def prepared_frames(uri: str, categories: list[str]) -> dict:
    """The prepared suite's frames: uint8 pixels (``prepare``'s Arrow file) in batches, float pixels read whole."""
    import pyarrow as pa

    from tasks.data.column_profile import profile_prepared
    from tasks.data.table_file import TableFile

    table = TableFile(require_file(uri, "prepared dataset"), "prepared")
    if all(pa.types.is_uint8(field.type) for field in table.schema if field.name != "label"):
        from tasks.data.streaming import prepared_frames_columnar

        return prepared_frames_columnar(uri, categories)
    frame = table.read().to_pandas()
    if frame.empty:
        raise StepError(f"{table.path}: no rows")
    return profile_prepared(frame, categories)


def check(suite: str, uri: str, values: dict[str, Any], docs_dir: Path | None = None) -> list[dict]:
    """Run ``suite`` on the dataset at ``uri``; the benchmark times exactly this."""
    from tasks.data.gx_suite import load_suite, run_suite  # GX and pandas: seconds, not paid by --help

    frames = raw_frames(uri) if suite == "raw" else prepared_frames(uri, values["categories"])
    return run_suite(load_suite(suite, values), frames, docs_dir)


def validate(suite: str, uri: str, output: Path, values: dict[str, Any]) -> dict:
    """Validate, write ``validation.json`` and its Data Docs page, and fail if any expectation failed.

    The Data Docs page is our own rendering of the results (escaped, no script, no CDN),
    not Great Expectations' site: column names and labels come from the dataset.
    """
    from tasks.data.gx_suite import describe

    index = CONTRACT.output_path(output, "data_docs")
    records = check(suite, uri, values)
    failed = [describe(record) for record in records if not record["success"]]
    report = {
        "suite": suite,
        "input": uri,
        "success": not failed,
        "summary": {"evaluated": len(records), "successful": len(records) - len(failed), "failed": len(failed)},
        "parameters": {k: v for k, v in values.items() if k not in ("columns", "label_values")},
        "expectations": records,
    }
    validation = CONTRACT.output_path(output, "validation")
    write_json(validation, report)
    with atomic_dir(index.parent) as docs:
        (docs / index.name).write_text(render_validation_page(report, title=f"Data Docs: {suite} suite"),
                                       encoding="utf-8")
    if failed:
        raise StepError(f"{uri}: {suite} suite failed {len(failed)} of {len(records)} expectations "
                        f"(report: {index}): " + "; ".join(failed))
    return {"success": True, "suite": suite, "input": uri, "summary": report["summary"], "data_docs": str(index),
            "validation": str(validation), "failed": failed}


def validate_step(suite: str, input: str, output: Path, image_height: int, image_width: int, categories: str,
                  min_valid_label_share: float, max_empty_cell_share: float, min_rows: int,
                  min_class_share: float) -> dict:
    """The step as its contract declares it: settings in, ``validate`` called with the suite's values."""
    limits = Thresholds(min_valid_label_share, max_empty_cell_share, min_rows, min_class_share)
    names = list(parse_categories(categories))
    return validate(suite, input, output, suite_values(image_height, image_width, names, limits))


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, validate_step)


if __name__ == "__main__":
    raise SystemExit(main())
