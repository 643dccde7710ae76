"""Read a Fashion-MNIST-layout CSV (``label,pixel1..pixelN``) and check its shape.

Shared by ``validate``, ``prepare`` and ``ingest``: each failure becomes one line that names
the file and the problem (empty file, header only, missing or duplicated columns, the
wrong pixel count, bytes that are not UTF-8). Until the header is known to have a
``label`` column, a message quotes nothing from the file (see :mod:`tasks.data.safe_text`).
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.core.common import StepError, require_file
from tasks.core.layout import pixel_columns
from tasks.data.safe_text import arrow_reason, gzip_reason, shown, shown_list

if TYPE_CHECKING:  # pandas costs ~0.7 s to import: the columnar path and a step's --help need none
    import pandas as pd


def read_header(path: Path) -> list[str]:
    """The column names of the first line, decoded strictly as UTF-8."""
    try:
        with (gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")) as handle:
            first = handle.readline()
    except (EOFError, OSError, zlib.error) as err:
        raise StepError(f"{path}: truncated or corrupt gzip ({gzip_reason(err)})") from err
    return parse_header(path, first)


def parse_header(path: Path, first: bytes) -> list[str]:
    """The column names in ``first`` (the file's first line), decoded strictly as UTF-8."""
    if not first.strip():
        raise StepError(f"{path}: file is empty")
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as err:
        raise StepError(f"{path}: header is not UTF-8 (byte {err.start})") from err
    return [name.strip().strip('"') for name in text.rstrip("\r\n").split(",")]


def require_label(path: Path | str, header: list[str] | tuple[str, ...]) -> None:
    """Fail, naming no column, unless ``header`` has a ``label`` column (a file without one may be anything)."""
    if "label" not in header:
        raise StepError(f"{path}: no 'label' column ({len(header)} columns); "
                        "the first line must be label,pixel1..pixelN")


def check_layout(path: Path, header: list[str], height: int, width: int) -> None:
    """Fail unless the header is ``label`` plus exactly ``pixel1..pixel{height*width}``.

    The ``label`` check comes first: a file without one may be anything (a password file),
    so its message gives a count, never a name; after it, names are shown escaped and cut short.
    """
    require_label(path, header)
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise StepError(f"{path}: duplicated column names: {shown_list(duplicated, 5)}")
    pixels = [name for name in header if name != "label"]
    expected = pixel_columns(height, width)
    if len(pixels) != len(expected):
        raise StepError(
            f"{path}: {len(pixels)} pixel columns, expected {len(expected)} for {height}x{width} images"
        )
    if pixels != expected:
        wrong = next(found for found, want in zip(pixels, expected, strict=True) if found != want)
        raise StepError(f"{path}: unexpected column {shown(wrong)}; expected pixel1..pixel{len(expected)} in order")


def read_raw_csv(uri: str, height: int, width: int) -> pd.DataFrame:
    """Read the CSV with its layout checked; labels as strings, pixels as read (nullable)."""
    path = require_file(uri, "dataset")
    check_layout(path, read_header(path), height, width)
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"label": pa.string()}))
        frame = table.to_pandas()
    except (pa.ArrowInvalid, ValueError) as err:
        raise _read_error(path, err) from err
    if frame.empty:
        raise StepError(f"{path}: header only, no data rows")
    return frame


def _read_error(path: Path, err: Exception) -> StepError:
    """Name the reason pyarrow could not read the file in one line, without the row it quotes."""
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "UTF8" in message or "utf-8" in message.lower():
        return StepError(f"{path}: bytes that are not UTF-8 ({arrow_reason(message)})")
    reason = arrow_reason(message) if isinstance(err, ValueError) else gzip_reason(err)
    if path.name.endswith(".gz"):
        return StepError(f"{path}: truncated or corrupt gzip ({reason})")
    return StepError(f"{path}: not a readable CSV ({reason})")


def read_table(path: Path, header: list[str]):
    """Read every column as pyarrow infers it, whatever the header says (duplicates included).

    Columns are named by position so that duplicated or missing names can still be
    profiled and reported; the label column, if any, is read as text.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(len(header))]
    types = {names[header.index("label")]: pa.string()} if "label" in header else {}
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                               convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowInvalid, ValueError, OSError, EOFError, zlib.error) as err:
        raise _read_error(path, err) from err
    if table.num_rows == 0:
        raise StepError(f"{path}: header only, no data rows")
    return table
