"""Read the original Fashion-MNIST IDX files (``*-images-idx3-ubyte[.gz]`` + labels).

The IDX format is a big-endian header (magic, dimension sizes) followed by raw
unsigned bytes. Fashion-MNIST ships a train pair (60,000) and a t10k pair (10,000).
"""

from __future__ import annotations

import gzip
import struct
import zlib

import numpy as np

from tasks.core.common import StepError
from tasks.data.safe_text import gzip_reason

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def _decompress(uri: str, payload: bytes) -> bytes:
    if not (uri.endswith(".gz") or payload[:2] == b"\x1f\x8b"):  # by content too: a folder's files may have any name
        return payload
    try:
        return gzip.decompress(payload)
    except (EOFError, OSError, zlib.error) as err:
        raise StepError(f"{uri}: truncated or corrupt gzip ({gzip_reason(err)})") from err


def parse_idx(uri: str, payload: bytes, magic: int) -> np.ndarray:
    """Parse IDX bytes into an array, checking the magic number and the declared size."""
    data = _decompress(uri, payload)
    if len(data) < 8:
        raise StepError(f"{uri}: too short to be an IDX file")
    found = struct.unpack(">I", data[:4])[0]
    if found != magic:  # the found number is the file's first 4 bytes: not quoted (the file may be anything)
        kind = "images" if magic == IMAGES_MAGIC else "labels"
        raise StepError(f"{uri}: not an IDX {kind} file (it does not start with the magic number {magic:#010x})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise StepError(f"{uri}: IDX body has {body.size} bytes, header declares {int(np.prod(shape))}")
    return body.reshape(shape)


def read_idx_pair(images_uri: str, images: bytes, labels_uri: str, labels: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(pixels[n, h*w], labels[n])`` from an images/labels pair of IDX payloads."""
    pixels = parse_idx(images_uri, images, IMAGES_MAGIC)
    codes = parse_idx(labels_uri, labels, LABELS_MAGIC)
    if pixels.shape[0] != codes.shape[0]:
        raise StepError(f"{images_uri}: {pixels.shape[0]} images but {codes.shape[0]} labels in {labels_uri}")
    return pixels.reshape(pixels.shape[0], -1), codes
