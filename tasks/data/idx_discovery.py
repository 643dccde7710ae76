"""Recognise IDX image/label files by their content (magic numbers), whatever they are called.

A dataset URI may name a folder: it is IDX if it holds at least one images file (magic
``0x00000803``) and one labels file (``0x00000801``), gzipped or not; a file is IDX if it
starts with the images magic. Images and labels are paired by Fashion-MNIST's names when
they follow them, else by their item counts (the header's first dimension), and ordered
largest first (train, 60,000, before t10k, 10,000, as in the 70,000-row CSV). Only the
first bytes of each file are read to decide.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from typing import IO

from tasks.core.common import StepError
from tasks.data.idx_format import IMAGES_MAGIC, LABELS_MAGIC

CSV_SUFFIXES = (".csv", ".csv.gz")
GZIP_MAGIC = b"\x1f\x8b"


def idx_header(handle: IO[bytes]) -> tuple[int, int] | None:
    """``(magic, item count)`` if ``handle`` holds an IDX images or labels file (gzipped or not), else ``None``."""
    start = handle.read(2)
    handle.seek(0)
    stream = gzip.GzipFile(fileobj=handle) if start == GZIP_MAGIC else handle
    try:
        head = stream.read(8)
    except (EOFError, OSError, zlib.error):
        return None
    if len(head) < 8:
        return None
    magic, count = struct.unpack(">II", head)
    return (magic, count) if magic in (IMAGES_MAGIC, LABELS_MAGIC) else None


def _pair(uri: str, images: dict[str, int], labels: dict[str, int]) -> list[tuple[str, str]]:
    """Each images file with its labels file: by name where the names say, else by equal item counts."""
    pairs = []
    for image_uri, count in sorted(images.items(), key=lambda item: (-item[1], item[0])):
        named = image_uri.replace("images-idx3-ubyte", "labels-idx1-ubyte")
        same_count = [label for label, n in labels.items() if n == count]
        if named != image_uri and named in labels:
            pairs.append((image_uri, named))
        elif len(same_count) == 1:
            pairs.append((image_uri, same_count[0]))
        else:
            raise StepError(f"{uri}: cannot tell which labels file belongs to {image_uri} ({count} images; "
                            f"{len(same_count)} labels files with {count} labels)")
    return pairs


def idx_pairs(uri: str, opener: Callable[[str], IO[bytes]]) -> list[tuple[str, str]]:
    """The (images, labels) URI pairs ``uri`` stands for, or ``[]`` when it is not IDX (e.g. a CSV).

    ``opener`` opens a URI for reading bytes (fetch's own, so errors read the same).
    """
    if uri.lower().endswith(CSV_SUFFIXES):
        return []
    import fsspec

    fs, path = fsspec.core.url_to_fs(uri)
    protocol = uri.split("://", 1)[0] + "://" if "://" in uri else ""

    def full(found: str) -> str:
        return protocol + found if protocol and not found.startswith(protocol) else found

    if not fs.isdir(path):
        with opener(uri) as handle:
            header = idx_header(handle)
        if header is None or header[0] != IMAGES_MAGIC:
            return []
        if "images-idx3-ubyte" in uri:
            return [(uri, uri.replace("images-idx3-ubyte", "labels-idx1-ubyte"))]
        raise StepError(f"{uri}: an IDX images file whose labels file cannot be found by name; "
                        "pass the folder holding both")
    images, labels = {}, {}
    for found in sorted(fs.ls(path, detail=False)):
        if fs.isdir(found):
            continue
        with opener(full(found)) as handle:
            header = idx_header(handle)
        if header is not None:
            (images if header[0] == IMAGES_MAGIC else labels)[full(found)] = header[1]
    if not images or not labels:
        raise StepError(f"{uri}: a folder without an IDX pair (images magic {IMAGES_MAGIC:#010x} and labels "
                        f"magic {LABELS_MAGIC:#010x}); found {len(images)} images and {len(labels)} labels files")
    return _pair(uri, images, labels)
