"""Clean the raw data: drop rows with empty cells or unknown labels, keep pixels as uint8.

The pipeline hands ``prepare`` the raw profile ``fetch`` wrote beside its columnar copy
(the CSV is parsed once per run), and ``prepare`` streams that copy in record batches
(:func:`tasks.data.streaming.prepare_columnar`), so memory does not grow with the data.
Given a CSV instead, it makes the columnar copy first, in a temporary folder.

Labels may be category names (the embedded dataset) or integer codes (the Kaggle CSV
and IDX files); both become category names. A non-numeric, fractional or out-of-range
pixel is not a fault to clean but a broken file, so it fails the step instead of being
dropped. Pixels stay 0..255 (uint8) on disk; training scales them per batch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tasks.contracts import CONTRACTS
from tasks.core import parameters as p
from tasks.core.common import StepError, require_file
from tasks.core.contract import run_step
from tasks.core.layout import parse_categories
from tasks.data.columnar import PROFILE_NAME, write_columnar
from tasks.data.streaming import prepare_columnar

CONTRACT = CONTRACTS["prepare"]


def prepare(input: str, output: Path, image_height: int, image_width: int,
            categories: str = p.CATEGORIES.default) -> dict:
    """Write ``<output>/prepared.arrow`` and report rows in, dropped by reason, and out."""
    try:
        names = parse_categories(categories)
    except ValueError as err:
        raise StepError(f"{input}: {err}") from err
    if input.endswith(PROFILE_NAME):
        return prepare_columnar(input, output, image_height, image_width, names)
    require_file(input, "dataset")
    with tempfile.TemporaryDirectory(prefix="prepare-columnar-") as scratch:
        profile = write_columnar(input, Path(scratch))["profile"]
        return prepare_columnar(profile, output, image_height, image_width, names)


def main(argv: list[str] | None = None) -> int:
    return run_step(CONTRACT, argv, prepare)


if __name__ == "__main__":
    raise SystemExit(main())
