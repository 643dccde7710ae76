"""A user's image, decoded within bounds: a small grey PNG or one CSV row in the ``label,pixel1..pixelN`` layout.

Both come from whoever is logged in, so both are hostile until checked (docs/security-model.md):
the caller refuses a body over :data:`MAX_BODY` before anything here runs; a PNG must carry the PNG
signature and an ``IHDR`` of exactly the model's size, read from its first 24 bytes **before** any
decompression (a 28x28 image cannot inflate into gigabytes: Pillow decodes only width x height
pixels, so a PNG bomb is refused by its header, never inflated); a CSV row must have one label and
exactly height x width whole numbers in 0..255. A refusal is one line that quotes none of the
user's bytes (a label with markup is "not a category", not echoed back).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

MAX_BODY = 64 * 1024  # a 28x28 PNG is < 1 KB; a CSV row of 784 pixels < 4 KB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class InputRefused(ValueError):
    """The image cannot be used; the message is one line for the user, quoting nothing they sent."""


@dataclass(frozen=True)
class UserImage:
    """Pixels (height x width uint8), where they came from, and the label a CSV row carried (code or None)."""

    pixels: np.ndarray
    source: str
    label: int | None = None


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the ``IHDR`` chunk, which the PNG format puts first; nothing is decompressed."""
    if not data.startswith(PNG_SIGNATURE):
        raise InputRefused("not a PNG image (the PNG signature is missing)")
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise InputRefused("not a valid PNG image (its header chunk is missing or malformed)")
    return struct.unpack(">II", data[16:24])


def decode_png(data: bytes, height: int, width: int) -> UserImage:
    """A ``height`` x ``width`` PNG as grey pixels; any other size is refused before decompression."""
    if len(data) > MAX_BODY:
        raise InputRefused(f"the image is over {MAX_BODY} bytes")
    found_width, found_height = png_size(data)
    if (found_height, found_width) != (height, width):
        raise InputRefused(f"the PNG is {found_width}x{found_height} pixels; the model takes {width}x{height}")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != (width, height):
                raise InputRefused("the PNG's size changed while decoding")
            image.load()
            grey = image.convert("L")
    except InputRefused:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many kinds; the user gets one line
        raise InputRefused(f"the PNG could not be decoded ({type(err).__name__})") from None
    return UserImage(np.asarray(grey, dtype=np.uint8).reshape(height, width), "png")


def parse_label(text: str, categories: tuple[str, ...]) -> int:
    """A category code (``0``..``n-1``) or exact name as its code; anything else is refused unquoted."""
    value = text.strip()
    if value.isdigit() and int(value) < len(categories):
        return int(value)
    if value in categories:
        return categories.index(value)
    raise InputRefused(f"the label is not one of the {len(categories)} categories (a code 0-{len(categories) - 1} "
                       "or a category name)")


def decode_csv_row(data: bytes, height: int, width: int, categories: tuple[str, ...]) -> UserImage:
    """One ``label,pixel1..pixelN`` row (a header line before it is allowed); the label may be empty."""
    if len(data) > MAX_BODY:
        raise InputRefused(f"the CSV is over {MAX_BODY} bytes")
    try:
        lines = [line for line in data.decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise InputRefused("the CSV row is not plain ASCII text") from None
    pixels = height * width
    if lines and lines[0].startswith("label"):
        expected = ",".join(["label", *(f"pixel{i}" for i in range(1, pixels + 1))])
        if lines[0].strip() != expected:
            raise InputRefused(f"the header is not label,pixel1..pixel{pixels}")
        lines = lines[1:]
    if len(lines) != 1:
        raise InputRefused(f"send exactly one data row (found {len(lines)})")
    fields = lines[0].split(",")
    if len(fields) != pixels + 1:
        raise InputRefused(f"the row has {len(fields)} fields; label,pixel1..pixel{pixels} has {pixels + 1}")
    label = parse_label(fields[0], categories) if fields[0].strip() else None
    cells = [cell.strip() for cell in fields[1:]]
    if not all(cell.isdigit() and int(cell) <= 255 for cell in cells):
        raise InputRefused("every pixel must be a whole number in 0..255")
    return UserImage(np.asarray([int(c) for c in cells], dtype=np.uint8).reshape(height, width), "csv", label)
