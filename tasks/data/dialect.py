"""Recognise the CSV dialects people really send, and say in one line how to fix them.

An Excel "CSV UTF-8" export starts with a byte-order mark, a European locale writes
``;``, a hand-edited file has spaces after the commas, a spreadsheet pasted as text
uses tabs. :func:`sniff` looks at the first lines only (no parsing, no pandas), so a
streaming reader can decide how to read the file or refuse it before reading 70,000
rows; :func:`fix_message` and :func:`shape_message` give the user's next step in at
most ~200 characters, naming the user's file, never echoing a 1,500-column header.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from tasks.core.layout import pixel_columns
from tasks.data.safe_text import shown_list

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t", "|")
NAMES = {",": "','", ";": "';'", "\t": "tabs", "|": "'|'"}
SAMPLE_BYTES = 1 << 20  # a 785-column header is ~6 KB; a few data lines fit as well
MESSAGE_LIMIT = 200
PIXEL = re.compile(r"pixel[1-9][0-9]*")
# Pixel counts of the datasets this pipeline is for: Fashion-MNIST (and MNIST), scikit-learn's digits.
KNOWN_SHAPES = {784: (28, 28), 64: (8, 8)}


@dataclass(frozen=True)
class Dialect:
    """What the first lines of a CSV look like.

    Attributes:
        delimiter: the separator that splits the header into the most columns.
        bom: the file starts with a UTF-8 byte-order mark.
        space_after_delimiter: names or values start with spaces after the separator (``label, pixel1``).
        header: the header's names split on ``delimiter``, BOM, quotes and spaces removed.
    """

    delimiter: str
    bom: bool
    space_after_delimiter: bool
    header: tuple[str, ...]

    @property
    def standard(self) -> bool:
        """Plain comma-separated, as the pipeline writes and expects."""
        return self.delimiter == "," and not self.bom and not self.space_after_delimiter


def _first_lines(path: Path, count: int = 3) -> list[bytes]:
    """Up to ``count`` lines from the start of the file (gzip decompressed), within :data:`SAMPLE_BYTES`."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
    except (EOFError, OSError, zlib.error):
        return []
    return sample.splitlines()[:count]


def sniff(path: str | Path) -> Dialect:
    """The dialect of the CSV at ``path`` (a local file, optionally ``.gz``); an unreadable file looks standard."""
    lines = _first_lines(Path(path))
    first = lines[0] if lines else b""
    bom = first.startswith(BOM)
    text = first[len(BOM):].decode("utf-8", errors="replace") if bom else first.decode("utf-8", errors="replace")
    delimiter = max(DELIMITERS, key=lambda sep: (text.count(sep), sep == ","))
    if text.count(delimiter) == 0:
        delimiter = ","
    rows = [text] + [line.decode("utf-8", errors="replace") for line in lines[1:]]
    spaced = any(f"{delimiter} " in row for row in rows) if delimiter != "\t" else False
    header = tuple(name.strip().strip('"').strip() for name in text.split(delimiter))
    return Dialect(delimiter, bom, spaced, header)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def _fit(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT - 3] + "..."


def fix_message(dialect: Dialect, source: str) -> str | None:
    """One line telling the user how to fix ``source`` (their file, not the run's copy); ``None`` if standard."""
    name = _short(source, 70)
    if dialect.delimiter != ",":
        columns = len(dialect.header)
        return _fit(f"{name}: columns are separated by {NAMES[dialect.delimiter]} ({columns} found), not commas; "
                    "export or save it as comma-separated CSV")
    if dialect.bom:
        return _fit(f"{name}: starts with a byte-order mark (Excel 'CSV UTF-8'); save it as plain "
                    "'CSV (Comma delimited)' or remove the first 3 bytes")
    if dialect.space_after_delimiter:
        example = f" (e.g. '{_short(', '.join(dialect.header[:2]), 24)}')" if "label" in dialect.header else ""
        return _fit(f"{name}: spaces after the commas{example}; remove them, e.g. sed -i 's/, */,/g' FILE")
    return None


def suggested_shape(pixels: int) -> tuple[int, int] | None:
    """The image shape ``pixels`` columns surely mean: a known dataset's, or a square; else ``None``.

    ``65`` could be 5x13 or 13x5 or a column too many: guessing would send the user
    from one failure to the next, so only a shape that is more than a factorisation is offered.
    """
    if pixels in KNOWN_SHAPES:
        return KNOWN_SHAPES[pixels]
    side = math.isqrt(pixels)
    return (side, side) if pixels > 0 and side * side == pixels else None


def shape_message(header: tuple[str, ...] | list[str], height: int | None, width: int | None, source: str) -> str:
    """One line for a header that does not hold ``height`` x ``width`` images, and a fix that would pass.

    Names the columns that are neither ``label`` nor ``pixelN`` (escaped, cut short; only once the
    header has a ``label`` column), says how many columns the set shape needs, and suggests a shape
    only when the header is exactly ``label,pixel1..pixelN`` and :func:`suggested_shape` knows N.
    """
    name = _short(source, 50)
    if "label" not in header:
        return _fit(f"{name}: no 'label' column ({len(header)} columns); the first line must be label,pixel1..pixelN")
    needed = height * width if height and width else None
    need = f"{height}x{width} images need pixel1..pixel{needed}" if needed else "image_height/image_width unset"
    others = [column for column in header if column != "label" and not PIXEL.fullmatch(column)]
    pixels = sum(1 for column in header if PIXEL.fullmatch(column))
    if others:
        return _fit(f"{name}: {len(others)} column(s) neither label nor pixelN: {shown_list(others, 2)}; "
                    f"remove or rename them ({need})")
    if pixels == 0:
        return _fit(f"{name}: no pixel columns (pixel1, pixel2, ...) found; the header must be label,pixel1..pixelN")
    in_order = list(header) == ["label", *pixel_columns(pixels, 1)]
    shape = suggested_shape(pixels) if in_order else None
    if shape:
        fix = (f"set image_height and image_width to {shape[0]}" if shape[0] == shape[1]
               else f"set image_height to {shape[0]} and image_width to {shape[1]}")
    elif not in_order:
        fix = f"the header must be label,pixel1..pixel{pixels} in that order"
    else:
        fix = f"{pixels} is neither a square nor a known image size: check the file's columns"
    return _fit(f"{name}: {pixels} pixel columns, but {need}; {fix}")
