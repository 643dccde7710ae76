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
import zlib
from dataclasses import dataclass
from pathlib import Path

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t", "|")
NAMES = {",": "','", ";": "';'", "\t": "tabs", "|": "'|'"}
SAMPLE_BYTES = 1 << 20  # a 785-column header is ~6 KB; a few data lines fit as well
MESSAGE_LIMIT = 200


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
        return _fit(f"{name}: spaces after the commas (e.g. '{_short(', '.join(dialect.header[:2]), 24)}'); "
                    "remove them, e.g. sed -i 's/, */,/g' FILE")
    return None


def _shapes(pixels: int) -> list[tuple[int, int]]:
    """Height x width pairs that hold ``pixels``, squarest first."""
    pairs = [(h, pixels // h) for h in range(1, int(pixels ** 0.5) + 1) if pixels % h == 0]
    return sorted(pairs, key=lambda hw: hw[1] - hw[0])


def shape_message(pixel_columns: int, height: int | None, width: int | None, source: str) -> str:
    """One line for a pixel count that does not fit ``height`` x ``width``, naming the shape to set."""
    name = _short(source, 70)
    expected = f"{height}x{width}={height * width}" if height and width else "unset"
    shapes = _shapes(pixel_columns) if pixel_columns > 0 else []
    if not shapes:
        return _fit(f"{name}: no pixel columns (pixel1, pixel2, ...) found; the header must be label,pixel1..pixelN")
    side, other = shapes[0]
    if side == other:
        fix = f"set image_height and image_width to {side}"
    else:
        fix = f"set image_height to {side} and image_width to {other} (or another pair multiplying to {pixel_columns})"
    return _fit(f"{name}: {pixel_columns} pixel columns, image shape {expected}; {fix}")
